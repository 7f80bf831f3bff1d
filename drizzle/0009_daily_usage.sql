-- Daily usage per tenant (src/db/schema.ts `usageDaily`): counters rolled up from Redis by the
-- five-minute cron, row counts and namespace quotas snapshotted by it, kept 400 days by the
-- daily purge. Hand-written like drizzle-kit's output, plus what drizzle never emits: FORCE
-- and the runtime role's grants (see 0002).
CREATE TABLE "usage_daily" (
	"tenant_id" uuid NOT NULL,
	"day" date NOT NULL,
	"api_calls_2xx" bigint DEFAULT 0 NOT NULL,
	"api_calls_3xx" bigint DEFAULT 0 NOT NULL,
	"api_calls_4xx" bigint DEFAULT 0 NOT NULL,
	"api_calls_5xx" bigint DEFAULT 0 NOT NULL,
	"rate_limited" bigint DEFAULT 0 NOT NULL,
	"quota_denied" bigint DEFAULT 0 NOT NULL,
	"credential_reveals" bigint DEFAULT 0 NOT NULL,
	"members" integer,
	"api_keys" integer,
	"clusters" integer,
	"plugins" integer,
	"credentials" integer,
	"cpu_cores" double precision,
	"memory_gb" double precision,
	"storage_gb" double precision,
	"gpus" double precision,
	"snapshot_at" timestamp (3) with time zone,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "usage_daily_tenant_id_day_pk" PRIMARY KEY("tenant_id","day")
);
--> statement-breakpoint
ALTER TABLE "usage_daily" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "usage_daily" FORCE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "usage_daily" ADD CONSTRAINT "usage_daily_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "usage_daily_day_idx" ON "usage_daily" USING btree ("day");--> statement-breakpoint
CREATE POLICY "usage_daily_tenant_isolation" ON "usage_daily" AS PERMISSIVE FOR ALL TO "tenantry_app" USING ("usage_daily"."tenant_id" = (select nullif(current_setting('app.tenant_id', true), ''))::uuid) WITH CHECK ("usage_daily"."tenant_id" = (select nullif(current_setting('app.tenant_id', true), ''))::uuid);--> statement-breakpoint
CREATE POLICY "usage_daily_system_scope" ON "usage_daily" AS PERMISSIVE FOR ALL TO "tenantry_app" USING ((select current_setting('app.scope', true)) = 'system') WITH CHECK ((select current_setting('app.scope', true)) = 'system');--> statement-breakpoint
-- The API reads; the rollup inserts and updates; the retention purge deletes.
GRANT SELECT, INSERT, UPDATE, DELETE ON usage_daily TO tenantry_app;
