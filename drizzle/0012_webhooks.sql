-- Tenant webhooks (src/webhooks/): endpoints, and the deliveries that are both their outbox and
-- their log. The tables are drizzle-kit's output; below them, what drizzle never emits: FORCE,
-- the runtime role's grants, the event catalogue and the functions that write deliveries in the
-- transaction of the change they tell about, and the trigger that turns every audit record into
-- events.
CREATE TABLE "webhook_deliveries" (
	"id" uuid PRIMARY KEY NOT NULL,
	"tenant_id" uuid NOT NULL,
	"endpoint_id" uuid NOT NULL,
	"event_id" uuid NOT NULL,
	"event_type" text NOT NULL,
	"payload" jsonb NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"response_status" integer,
	"duration_ms" integer,
	"last_error" text,
	"next_attempt_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"queued_at" timestamp (3) with time zone,
	"locked_until" timestamp (3) with time zone,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"delivered_at" timestamp (3) with time zone,
	CONSTRAINT "webhook_deliveries_status_check" CHECK ("webhook_deliveries"."status" in ('pending', 'delivered', 'failed', 'dead'))
);
--> statement-breakpoint
ALTER TABLE "webhook_deliveries" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "webhook_endpoints" (
	"id" uuid PRIMARY KEY NOT NULL,
	"tenant_id" uuid NOT NULL,
	"url" text NOT NULL,
	"description" text,
	"events" text[] NOT NULL,
	"enabled" boolean DEFAULT true NOT NULL,
	"secret_ciphertext" text NOT NULL,
	"secret_iv" text NOT NULL,
	"previous_secret_ciphertext" text,
	"previous_secret_iv" text,
	"previous_secret_expires_at" timestamp (3) with time zone,
	"failing_since" timestamp (3) with time zone,
	"disabled_reason" text,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "webhook_endpoints" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "webhook_deliveries" ADD CONSTRAINT "webhook_deliveries_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "webhook_deliveries" ADD CONSTRAINT "webhook_deliveries_endpoint_id_webhook_endpoints_id_fk" FOREIGN KEY ("endpoint_id") REFERENCES "public"."webhook_endpoints"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "webhook_endpoints" ADD CONSTRAINT "webhook_endpoints_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "webhook_deliveries_endpoint_created_idx" ON "webhook_deliveries" USING btree ("endpoint_id","created_at","id");--> statement-breakpoint
CREATE INDEX "webhook_deliveries_unqueued_idx" ON "webhook_deliveries" USING btree ("tenant_id","created_at") WHERE "webhook_deliveries"."queued_at" is null and "webhook_deliveries"."status" = 'pending';--> statement-breakpoint
CREATE INDEX "webhook_deliveries_due_idx" ON "webhook_deliveries" USING btree ("next_attempt_at") WHERE "webhook_deliveries"."status" in ('pending', 'failed');--> statement-breakpoint
CREATE INDEX "webhook_deliveries_tenant_type_idx" ON "webhook_deliveries" USING btree ("tenant_id","event_type","created_at");--> statement-breakpoint
CREATE INDEX "webhook_endpoints_tenant_created_idx" ON "webhook_endpoints" USING btree ("tenant_id","created_at","id");--> statement-breakpoint
CREATE POLICY "webhook_deliveries_tenant_isolation" ON "webhook_deliveries" AS PERMISSIVE FOR ALL TO "tenantry_app" USING ("webhook_deliveries"."tenant_id" = (select nullif(current_setting('app.tenant_id', true), ''))::uuid) WITH CHECK ("webhook_deliveries"."tenant_id" = (select nullif(current_setting('app.tenant_id', true), ''))::uuid);--> statement-breakpoint
CREATE POLICY "webhook_deliveries_system_scope" ON "webhook_deliveries" AS PERMISSIVE FOR ALL TO "tenantry_app" USING ((select current_setting('app.scope', true)) = 'system') WITH CHECK ((select current_setting('app.scope', true)) = 'system');--> statement-breakpoint
CREATE POLICY "webhook_endpoints_tenant_isolation" ON "webhook_endpoints" AS PERMISSIVE FOR ALL TO "tenantry_app" USING ("webhook_endpoints"."tenant_id" = (select nullif(current_setting('app.tenant_id', true), ''))::uuid) WITH CHECK ("webhook_endpoints"."tenant_id" = (select nullif(current_setting('app.tenant_id', true), ''))::uuid);--> statement-breakpoint
CREATE POLICY "webhook_endpoints_system_scope" ON "webhook_endpoints" AS PERMISSIVE FOR ALL TO "tenantry_app" USING ((select current_setting('app.scope', true)) = 'system') WITH CHECK ((select current_setting('app.scope', true)) = 'system');--> statement-breakpoint
ALTER TABLE "webhook_endpoints" FORCE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "webhook_deliveries" FORCE ROW LEVEL SECURITY;--> statement-breakpoint
-- Tenant admins create, change and delete endpoints; the daily retention task deletes
-- deliveries older than a month.
GRANT SELECT, INSERT, UPDATE, DELETE ON webhook_endpoints TO tenantry_app;--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE, DELETE ON webhook_deliveries TO tenantry_app;--> statement-breakpoint
-- The events an endpoint may subscribe to (src/webhooks/events.ts WEBHOOK_EVENT_TYPES; a test
-- keeps the two lists equal). An audit action is also an event when it is in this list.
CREATE OR REPLACE FUNCTION tenantry_webhook_event_types()
RETURNS text[]
LANGUAGE sql
IMMUTABLE
AS $$
  SELECT ARRAY[
    'tenant.updated',
    'tenant.suspended',
    'tenant.reactivated',
    'tenant.deleted',
    'tenant.restored',
    'member.added',
    'member.removed',
    'member.role_changed',
    'invitation.created',
    'invitation.accepted',
    'invitation.revoked',
    'api_key.created',
    'api_key.revoked',
    'api_key.rotated',
    'api_key.expiring',
    'cluster.created',
    'cluster.updated',
    'cluster.deleted',
    'plugin.created',
    'plugin.updated',
    'plugin.deleted',
    'credential.created',
    'credential.deleted',
    'credential.revealed',
    'provisioning.succeeded',
    'provisioning.failed',
    'provisioning.dead',
    'quota.exceeded',
    'audit.event',
    'webhook.test'
  ]::text[]
$$;
--> statement-breakpoint
-- Whether an endpoint's patterns (exact names, `prefix.*`) subscribe to an event type.
CREATE OR REPLACE FUNCTION tenantry_webhook_matches(patterns text[], event_type text)
RETURNS boolean
LANGUAGE sql
IMMUTABLE
AS $$
  SELECT EXISTS (
    SELECT 1 FROM unnest(patterns) AS p
    WHERE p = event_type OR (right(p, 2) = '.*' AND starts_with(event_type, left(p, -1)))
  )
$$;
--> statement-breakpoint
-- Writes one delivery per enabled endpoint of the tenant subscribed to the event (or only to
-- `only_endpoint`, enabled or not, for a test event), in the caller's transaction and under
-- its RLS (SECURITY INVOKER): a tenant-scoped caller can only emit to its own endpoints. The
-- body is fixed here: {id, type, created_at, tenant_id, data}. Answers how many it wrote.
CREATE OR REPLACE FUNCTION tenantry_emit_webhook_event(
  tenant uuid, event_type text, data jsonb, only_endpoint uuid DEFAULT NULL, delivery uuid DEFAULT NULL
)
RETURNS integer
LANGUAGE plpgsql
VOLATILE
AS $$
DECLARE
  event_id uuid := gen_random_uuid();
  at timestamptz := date_trunc('milliseconds', clock_timestamp());
  written integer;
BEGIN
  INSERT INTO webhook_deliveries
    (id, tenant_id, endpoint_id, event_id, event_type, payload, next_attempt_at, created_at, queued_at)
  SELECT coalesce(delivery, gen_random_uuid()), tenant, e.id, event_id, event_type,
    jsonb_build_object(
      'id', event_id,
      'type', event_type,
      'created_at', to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
      'tenant_id', tenant,
      'data', data
    ),
    at, at, CASE WHEN delivery IS NULL THEN NULL ELSE at END
  FROM webhook_endpoints e
  WHERE e.tenant_id = tenant
    AND CASE WHEN only_endpoint IS NULL
      THEN e.enabled AND tenantry_webhook_matches(e.events, event_type)
      ELSE e.id = only_endpoint END;
  GET DIAGNOSTICS written = ROW_COUNT;
  RETURN written;
END
$$;
--> statement-breakpoint
-- Every audit record of a tenant with an enabled endpoint becomes `audit.event` (the record as
-- GET /audit-events answers it) and, when its action is in the catalogue, the event of that
-- name. Accepting an invitation also adds a member. Records without a tenant (a user's own
-- password change) are nobody's events.
CREATE OR REPLACE FUNCTION tenantry_audit_webhook_events()
RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
  facts jsonb;
BEGIN
  IF NEW.tenant_id IS NULL
    OR NOT EXISTS (SELECT 1 FROM webhook_endpoints e WHERE e.tenant_id = NEW.tenant_id AND e.enabled) THEN
    RETURN NULL;
  END IF;
  PERFORM tenantry_emit_webhook_event(NEW.tenant_id, 'audit.event', jsonb_build_object(
    'id', NEW.id,
    'tenant_id', NEW.tenant_id,
    'actor_type', NEW.actor_type,
    'actor_id', NEW.actor_id,
    'action', NEW.action,
    'target_type', NEW.target_type,
    'target_id', NEW.target_id,
    'request_id', NEW.request_id,
    'ip', NEW.ip,
    'meta', NEW.meta,
    'created_at', to_char(NEW.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
  ));
  facts := jsonb_build_object(
    'actor', jsonb_build_object('type', NEW.actor_type, 'id', NEW.actor_id),
    'target', jsonb_build_object('type', NEW.target_type, 'id', NEW.target_id),
    'meta', NEW.meta,
    'audit_event_id', NEW.id,
    'request_id', NEW.request_id
  );
  IF NEW.action = ANY (tenantry_webhook_event_types()) THEN
    PERFORM tenantry_emit_webhook_event(NEW.tenant_id, NEW.action, facts);
  END IF;
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER audit_events_webhook_events
  AFTER INSERT ON audit_events
  FOR EACH ROW EXECUTE FUNCTION tenantry_audit_webhook_events();
--> statement-breakpoint
-- A provisioning job that reaches an outcome is an event of its tenant: `provisioning.succeeded`
-- (also for a dry run, with its status), `provisioning.failed` (each failed attempt that will be
-- retried) and `provisioning.dead`, whoever records it (the job consumer, the reconciler).
CREATE OR REPLACE FUNCTION tenantry_provisioning_webhook_events()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  IF NEW.status IS NOT DISTINCT FROM OLD.status AND NEW.attempts IS NOT DISTINCT FROM OLD.attempts THEN
    RETURN NULL;
  END IF;
  IF NEW.status NOT IN ('succeeded', 'dry_run', 'failed', 'dead') THEN
    RETURN NULL;
  END IF;
  PERFORM tenantry_emit_webhook_event(
    NEW.tenant_id,
    CASE NEW.status WHEN 'failed' THEN 'provisioning.failed' WHEN 'dead' THEN 'provisioning.dead'
      ELSE 'provisioning.succeeded' END,
    jsonb_build_object(
      'job_id', NEW.id, 'kind', NEW.kind, 'status', NEW.status, 'attempts', NEW.attempts,
      'error', NEW.last_error, 'result', NEW.result
    )
  );
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER provisioning_jobs_webhook_events
  AFTER UPDATE OF status ON provisioning_jobs
  FOR EACH ROW EXECUTE FUNCTION tenantry_provisioning_webhook_events();
--> statement-breakpoint
-- `quota.exceeded`, at most once per (tenant, quota) an hour: concurrent refusals serialise on
-- a transaction-scoped lock, and the first of the hour writes. Answers how many it wrote.
CREATE OR REPLACE FUNCTION tenantry_emit_quota_exceeded(tenant uuid, quota text, data jsonb)
RETURNS integer
LANGUAGE plpgsql
VOLATILE
AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(hashtextextended('webhook-quota:' || quota || ':' || tenant::text, 0));
  IF EXISTS (
    SELECT 1 FROM webhook_deliveries d
    WHERE d.tenant_id = tenant AND d.event_type = 'quota.exceeded'
      AND d.created_at > now() - interval '1 hour'
      AND d.payload -> 'data' ->> 'quota' = quota
  ) THEN
    RETURN 0;
  END IF;
  RETURN tenantry_emit_webhook_event(tenant, 'quota.exceeded', data);
END
$$;
--> statement-breakpoint
REVOKE ALL ON FUNCTION tenantry_emit_webhook_event(uuid, text, jsonb, uuid, uuid) FROM PUBLIC;--> statement-breakpoint
REVOKE ALL ON FUNCTION tenantry_emit_quota_exceeded(uuid, text, jsonb) FROM PUBLIC;--> statement-breakpoint
GRANT EXECUTE ON FUNCTION tenantry_emit_webhook_event(uuid, text, jsonb, uuid, uuid) TO tenantry_app;--> statement-breakpoint
GRANT EXECUTE ON FUNCTION tenantry_emit_quota_exceeded(uuid, text, jsonb) TO tenantry_app;
