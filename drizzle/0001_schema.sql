CREATE TABLE "api_keys" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid NOT NULL,
	"name" text NOT NULL,
	"role" text NOT NULL,
	"prefix" text NOT NULL,
	"key_hash" text NOT NULL,
	"previous_key_hash" text,
	"previous_expires_at" timestamp with time zone,
	"rate_limit_per_hour" integer,
	"created_by" uuid,
	"last_used_at" timestamp with time zone,
	"expires_at" timestamp with time zone,
	"revoked_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "api_keys_role_check" CHECK ("api_keys"."role" in ('admin', 'member', 'viewer'))
);
--> statement-breakpoint
ALTER TABLE "api_keys" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "audit_events" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid,
	"actor_type" text NOT NULL,
	"actor_id" text,
	"action" text NOT NULL,
	"target_type" text,
	"target_id" text,
	"request_id" text,
	"ip" text,
	"meta" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "audit_events_actor_type_check" CHECK ("audit_events"."actor_type" in ('user', 'api_key', 'system'))
);
--> statement-breakpoint
ALTER TABLE "audit_events" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "clusters" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid NOT NULL,
	"name" text NOT NULL,
	"api_server_url" text NOT NULL,
	"region" text NOT NULL,
	"labels" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "clusters" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "credentials" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid NOT NULL,
	"name" text NOT NULL,
	"kind" text NOT NULL,
	"ciphertext" text NOT NULL,
	"iv" text NOT NULL,
	"created_by" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "credentials_kind_check" CHECK ("credentials"."kind" in ('token', 'password', 'ssh_key', 'certificate', 'kubeconfig'))
);
--> statement-breakpoint
ALTER TABLE "credentials" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "idempotency_keys" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid,
	"key" text NOT NULL,
	"route" text NOT NULL,
	"request_hash" text NOT NULL,
	"status_code" integer,
	"response_body" jsonb,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "idempotency_keys" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "invitations" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid NOT NULL,
	"email" text NOT NULL,
	"role" text NOT NULL,
	"token_hash" text NOT NULL,
	"invited_by" uuid,
	"expires_at" timestamp with time zone NOT NULL,
	"accepted_at" timestamp with time zone,
	"revoked_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "invitations_role_check" CHECK ("invitations"."role" in ('admin', 'member', 'viewer'))
);
--> statement-breakpoint
ALTER TABLE "invitations" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "plugins" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid NOT NULL,
	"name" text NOT NULL,
	"version" text NOT NULL,
	"config" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "plugins" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "provisioning_jobs" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid NOT NULL,
	"kind" text NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"last_error" text,
	"result" jsonb,
	"sent_at" timestamp with time zone,
	"completed_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "provisioning_jobs_kind_check" CHECK ("provisioning_jobs"."kind" in ('provision', 'suspend', 'resume', 'update_quota', 'deprovision')),
	CONSTRAINT "provisioning_jobs_status_check" CHECK ("provisioning_jobs"."status" in ('pending', 'sent', 'succeeded', 'failed', 'dead'))
);
--> statement-breakpoint
ALTER TABLE "provisioning_jobs" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "tenant_keys" (
	"tenant_id" uuid PRIMARY KEY NOT NULL,
	"wrapped_key" text NOT NULL,
	"wrap_iv" text NOT NULL,
	"master_key_id" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"rotated_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "tenant_keys" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "tenant_memberships" (
	"tenant_id" uuid NOT NULL,
	"user_id" uuid NOT NULL,
	"role" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "tenant_memberships_tenant_id_user_id_pk" PRIMARY KEY("tenant_id","user_id"),
	CONSTRAINT "tenant_memberships_role_check" CHECK ("tenant_memberships"."role" in ('admin', 'member', 'viewer'))
);
--> statement-breakpoint
ALTER TABLE "tenant_memberships" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "tenants" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"slug" text NOT NULL,
	"name" text NOT NULL,
	"status" text DEFAULT 'active' NOT NULL,
	"plan" text DEFAULT 'free' NOT NULL,
	"quota_overrides" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"features" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"settings" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"suspended_at" timestamp with time zone,
	"suspend_reason" text,
	"deleted_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "tenants_status_check" CHECK ("tenants"."status" in ('active', 'suspended', 'deleted')),
	CONSTRAINT "tenants_plan_check" CHECK ("tenants"."plan" in ('free', 'basic', 'pro', 'enterprise')),
	CONSTRAINT "tenants_slug_check" CHECK ("tenants"."slug" ~ '^[a-z0-9](?:[a-z0-9-]{1,38}[a-z0-9])$')
);
--> statement-breakpoint
ALTER TABLE "tenants" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "users" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"email" text NOT NULL,
	"name" text,
	"password_hash" text,
	"is_system_admin" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "audit_events" ADD CONSTRAINT "audit_events_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "clusters" ADD CONSTRAINT "clusters_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "credentials" ADD CONSTRAINT "credentials_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "idempotency_keys" ADD CONSTRAINT "idempotency_keys_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "invitations" ADD CONSTRAINT "invitations_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "plugins" ADD CONSTRAINT "plugins_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "provisioning_jobs" ADD CONSTRAINT "provisioning_jobs_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "tenant_keys" ADD CONSTRAINT "tenant_keys_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "tenant_memberships" ADD CONSTRAINT "tenant_memberships_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "tenant_memberships" ADD CONSTRAINT "tenant_memberships_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "api_keys_prefix_key" ON "api_keys" USING btree ("prefix");--> statement-breakpoint
CREATE INDEX "api_keys_tenant_created_idx" ON "api_keys" USING btree ("tenant_id","created_at","id");--> statement-breakpoint
CREATE INDEX "audit_events_tenant_created_idx" ON "audit_events" USING btree ("tenant_id","created_at","id");--> statement-breakpoint
CREATE UNIQUE INDEX "clusters_tenant_name_key" ON "clusters" USING btree ("tenant_id","name");--> statement-breakpoint
CREATE INDEX "clusters_tenant_created_idx" ON "clusters" USING btree ("tenant_id","created_at","id");--> statement-breakpoint
CREATE UNIQUE INDEX "credentials_tenant_name_key" ON "credentials" USING btree ("tenant_id","name");--> statement-breakpoint
CREATE INDEX "credentials_tenant_created_idx" ON "credentials" USING btree ("tenant_id","created_at","id");--> statement-breakpoint
CREATE UNIQUE INDEX "idempotency_keys_scope_key" ON "idempotency_keys" USING btree (coalesce("tenant_id", '00000000-0000-0000-0000-000000000000'::uuid),"route","key");--> statement-breakpoint
CREATE INDEX "idempotency_keys_expires_idx" ON "idempotency_keys" USING btree ("expires_at");--> statement-breakpoint
CREATE UNIQUE INDEX "invitations_token_hash_key" ON "invitations" USING btree ("token_hash");--> statement-breakpoint
CREATE INDEX "invitations_tenant_created_idx" ON "invitations" USING btree ("tenant_id","created_at","id");--> statement-breakpoint
CREATE UNIQUE INDEX "invitations_tenant_pending_email_key" ON "invitations" USING btree ("tenant_id",lower("email")) WHERE "invitations"."accepted_at" is null and "invitations"."revoked_at" is null;--> statement-breakpoint
CREATE UNIQUE INDEX "plugins_tenant_name_key" ON "plugins" USING btree ("tenant_id","name");--> statement-breakpoint
CREATE INDEX "plugins_tenant_created_idx" ON "plugins" USING btree ("tenant_id","created_at","id");--> statement-breakpoint
CREATE INDEX "provisioning_jobs_tenant_created_idx" ON "provisioning_jobs" USING btree ("tenant_id","created_at","id");--> statement-breakpoint
CREATE INDEX "provisioning_jobs_open_idx" ON "provisioning_jobs" USING btree ("updated_at") WHERE "provisioning_jobs"."status" in ('pending', 'sent');--> statement-breakpoint
CREATE INDEX "tenant_memberships_user_idx" ON "tenant_memberships" USING btree ("user_id");--> statement-breakpoint
CREATE INDEX "tenant_memberships_tenant_created_idx" ON "tenant_memberships" USING btree ("tenant_id","created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "tenants_slug_key" ON "tenants" USING btree ("slug");--> statement-breakpoint
CREATE INDEX "tenants_created_idx" ON "tenants" USING btree ("created_at","id");--> statement-breakpoint
CREATE INDEX "tenants_deleted_idx" ON "tenants" USING btree ("deleted_at") WHERE "tenants"."status" = 'deleted';--> statement-breakpoint
CREATE UNIQUE INDEX "users_email_key" ON "users" USING btree (lower("email"));--> statement-breakpoint
CREATE POLICY "api_keys_tenant_isolation" ON "api_keys" AS PERMISSIVE FOR ALL TO "tenantry_app" USING ("api_keys"."tenant_id" = (select nullif(current_setting('app.tenant_id', true), ''))::uuid) WITH CHECK ("api_keys"."tenant_id" = (select nullif(current_setting('app.tenant_id', true), ''))::uuid);--> statement-breakpoint
CREATE POLICY "audit_events_tenant_isolation" ON "audit_events" AS PERMISSIVE FOR ALL TO "tenantry_app" USING ("audit_events"."tenant_id" = (select nullif(current_setting('app.tenant_id', true), ''))::uuid) WITH CHECK ("audit_events"."tenant_id" = (select nullif(current_setting('app.tenant_id', true), ''))::uuid);--> statement-breakpoint
CREATE POLICY "audit_events_system_scope" ON "audit_events" AS PERMISSIVE FOR ALL TO "tenantry_app" USING ((select current_setting('app.scope', true)) = 'system') WITH CHECK ((select current_setting('app.scope', true)) = 'system');--> statement-breakpoint
CREATE POLICY "clusters_tenant_isolation" ON "clusters" AS PERMISSIVE FOR ALL TO "tenantry_app" USING ("clusters"."tenant_id" = (select nullif(current_setting('app.tenant_id', true), ''))::uuid) WITH CHECK ("clusters"."tenant_id" = (select nullif(current_setting('app.tenant_id', true), ''))::uuid);--> statement-breakpoint
CREATE POLICY "credentials_tenant_isolation" ON "credentials" AS PERMISSIVE FOR ALL TO "tenantry_app" USING ("credentials"."tenant_id" = (select nullif(current_setting('app.tenant_id', true), ''))::uuid) WITH CHECK ("credentials"."tenant_id" = (select nullif(current_setting('app.tenant_id', true), ''))::uuid);--> statement-breakpoint
CREATE POLICY "idempotency_keys_tenant_isolation" ON "idempotency_keys" AS PERMISSIVE FOR ALL TO "tenantry_app" USING ("idempotency_keys"."tenant_id" = (select nullif(current_setting('app.tenant_id', true), ''))::uuid) WITH CHECK ("idempotency_keys"."tenant_id" = (select nullif(current_setting('app.tenant_id', true), ''))::uuid);--> statement-breakpoint
CREATE POLICY "idempotency_keys_system_scope" ON "idempotency_keys" AS PERMISSIVE FOR ALL TO "tenantry_app" USING ((select current_setting('app.scope', true)) = 'system') WITH CHECK ((select current_setting('app.scope', true)) = 'system');--> statement-breakpoint
CREATE POLICY "invitations_tenant_isolation" ON "invitations" AS PERMISSIVE FOR ALL TO "tenantry_app" USING ("invitations"."tenant_id" = (select nullif(current_setting('app.tenant_id', true), ''))::uuid) WITH CHECK ("invitations"."tenant_id" = (select nullif(current_setting('app.tenant_id', true), ''))::uuid);--> statement-breakpoint
CREATE POLICY "invitations_system_scope" ON "invitations" AS PERMISSIVE FOR ALL TO "tenantry_app" USING ((select current_setting('app.scope', true)) = 'system') WITH CHECK ((select current_setting('app.scope', true)) = 'system');--> statement-breakpoint
CREATE POLICY "plugins_tenant_isolation" ON "plugins" AS PERMISSIVE FOR ALL TO "tenantry_app" USING ("plugins"."tenant_id" = (select nullif(current_setting('app.tenant_id', true), ''))::uuid) WITH CHECK ("plugins"."tenant_id" = (select nullif(current_setting('app.tenant_id', true), ''))::uuid);--> statement-breakpoint
CREATE POLICY "provisioning_jobs_tenant_isolation" ON "provisioning_jobs" AS PERMISSIVE FOR ALL TO "tenantry_app" USING ("provisioning_jobs"."tenant_id" = (select nullif(current_setting('app.tenant_id', true), ''))::uuid) WITH CHECK ("provisioning_jobs"."tenant_id" = (select nullif(current_setting('app.tenant_id', true), ''))::uuid);--> statement-breakpoint
CREATE POLICY "provisioning_jobs_system_scope" ON "provisioning_jobs" AS PERMISSIVE FOR ALL TO "tenantry_app" USING ((select current_setting('app.scope', true)) = 'system') WITH CHECK ((select current_setting('app.scope', true)) = 'system');--> statement-breakpoint
CREATE POLICY "tenant_keys_tenant_isolation" ON "tenant_keys" AS PERMISSIVE FOR ALL TO "tenantry_app" USING ("tenant_keys"."tenant_id" = (select nullif(current_setting('app.tenant_id', true), ''))::uuid) WITH CHECK ("tenant_keys"."tenant_id" = (select nullif(current_setting('app.tenant_id', true), ''))::uuid);--> statement-breakpoint
CREATE POLICY "tenant_keys_system_scope" ON "tenant_keys" AS PERMISSIVE FOR ALL TO "tenantry_app" USING ((select current_setting('app.scope', true)) = 'system') WITH CHECK ((select current_setting('app.scope', true)) = 'system');--> statement-breakpoint
CREATE POLICY "tenant_memberships_tenant_isolation" ON "tenant_memberships" AS PERMISSIVE FOR ALL TO "tenantry_app" USING ("tenant_memberships"."tenant_id" = (select nullif(current_setting('app.tenant_id', true), ''))::uuid) WITH CHECK ("tenant_memberships"."tenant_id" = (select nullif(current_setting('app.tenant_id', true), ''))::uuid);--> statement-breakpoint
CREATE POLICY "tenant_memberships_system_scope" ON "tenant_memberships" AS PERMISSIVE FOR ALL TO "tenantry_app" USING ((select current_setting('app.scope', true)) = 'system') WITH CHECK ((select current_setting('app.scope', true)) = 'system');--> statement-breakpoint
CREATE POLICY "tenants_tenant_isolation" ON "tenants" AS PERMISSIVE FOR ALL TO "tenantry_app" USING ("tenants"."id" = (select nullif(current_setting('app.tenant_id', true), ''))::uuid) WITH CHECK ("tenants"."id" = (select nullif(current_setting('app.tenant_id', true), ''))::uuid);--> statement-breakpoint
CREATE POLICY "tenants_system_scope" ON "tenants" AS PERMISSIVE FOR ALL TO "tenantry_app" USING ((select current_setting('app.scope', true)) = 'system') WITH CHECK ((select current_setting('app.scope', true)) = 'system');