-- Isolation tiers (issue 22): a tenant's placement (isolation, region), the dedicated
-- databases its own rows may live in, and the moves between tiers. The tables are drizzle-kit's
-- output; below them, what drizzle never emits: FORCE, the grants, and the functions a move
-- uses in the control database and in every dedicated one alike.
CREATE TABLE "tenant_databases" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid NOT NULL,
	"provider" text NOT NULL,
	"ref" text NOT NULL,
	"region" text NOT NULL,
	"connection_sealed" text NOT NULL,
	"status" text DEFAULT 'ready' NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"retired_at" timestamp (3) with time zone,
	"dropped_at" timestamp (3) with time zone,
	CONSTRAINT "tenant_databases_status_check" CHECK ("tenant_databases"."status" in ('ready', 'retired', 'dropped')),
	CONSTRAINT "tenant_databases_provider_check" CHECK ("tenant_databases"."provider" in ('local', 'neon'))
);
--> statement-breakpoint
ALTER TABLE "tenant_databases" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "tenant_moves" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid NOT NULL,
	"from_isolation" text NOT NULL,
	"from_database_id" uuid,
	"to_isolation" text NOT NULL,
	"to_region" text NOT NULL,
	"to_database_id" uuid,
	"status" text DEFAULT 'pending' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"last_error" text,
	"report" jsonb,
	"copy_after" timestamp (3) with time zone NOT NULL,
	"switched_at" timestamp (3) with time zone,
	"completed_at" timestamp (3) with time zone,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "tenant_moves_status_check" CHECK ("tenant_moves"."status" in ('pending', 'copying', 'switched', 'succeeded', 'failed', 'dead')),
	CONSTRAINT "tenant_moves_from_isolation_check" CHECK ("tenant_moves"."from_isolation" in ('shared', 'dedicated')),
	CONSTRAINT "tenant_moves_to_isolation_check" CHECK ("tenant_moves"."to_isolation" in ('shared', 'dedicated'))
);
--> statement-breakpoint
ALTER TABLE "tenant_moves" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "webhook_relay" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid NOT NULL,
	"event_type" text NOT NULL,
	"data" jsonb NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "webhook_relay" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "webhook_relayed" (
	"id" uuid PRIMARY KEY NOT NULL,
	"tenant_id" uuid NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "webhook_relayed" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "tenants" ADD COLUMN "isolation" text DEFAULT 'shared' NOT NULL;--> statement-breakpoint
ALTER TABLE "tenants" ADD COLUMN "region" text DEFAULT 'us-east' NOT NULL;--> statement-breakpoint
ALTER TABLE "tenants" ADD COLUMN "database_id" uuid;--> statement-breakpoint
ALTER TABLE "tenants" ADD COLUMN "move_id" uuid;--> statement-breakpoint
ALTER TABLE "tenants" ADD COLUMN "has_webhooks" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "tenant_databases" ADD CONSTRAINT "tenant_databases_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "tenant_moves" ADD CONSTRAINT "tenant_moves_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "webhook_relay" ADD CONSTRAINT "webhook_relay_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "webhook_relayed" ADD CONSTRAINT "webhook_relayed_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "tenant_databases_tenant_idx" ON "tenant_databases" USING btree ("tenant_id","created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "tenant_databases_ref_key" ON "tenant_databases" USING btree ("provider","ref") WHERE "tenant_databases"."status" <> 'dropped';--> statement-breakpoint
CREATE INDEX "tenant_moves_tenant_created_idx" ON "tenant_moves" USING btree ("tenant_id","created_at","id");--> statement-breakpoint
CREATE INDEX "tenant_moves_open_idx" ON "tenant_moves" USING btree ("updated_at") WHERE "tenant_moves"."status" in ('pending', 'copying', 'switched', 'failed');--> statement-breakpoint
CREATE INDEX "webhook_relay_tenant_created_idx" ON "webhook_relay" USING btree ("tenant_id","created_at");--> statement-breakpoint
CREATE INDEX "webhook_relayed_created_idx" ON "webhook_relayed" USING btree ("created_at");--> statement-breakpoint
ALTER TABLE "tenants" ADD CONSTRAINT "tenants_isolation_check" CHECK ("tenants"."isolation" in ('shared', 'dedicated'));--> statement-breakpoint
ALTER TABLE "tenants" ADD CONSTRAINT "tenants_region_check" CHECK ("tenants"."region" ~ '^[a-z0-9][a-z0-9-]{0,30}$');--> statement-breakpoint
ALTER TABLE "tenants" ADD CONSTRAINT "tenants_dedicated_database_check" CHECK (("tenants"."isolation" = 'dedicated') = ("tenants"."database_id" is not null));--> statement-breakpoint
CREATE POLICY "tenant_databases_tenant_isolation" ON "tenant_databases" AS PERMISSIVE FOR ALL TO "tenantry_app" USING ("tenant_databases"."tenant_id" = (select nullif(current_setting('app.tenant_id', true), ''))::uuid) WITH CHECK ("tenant_databases"."tenant_id" = (select nullif(current_setting('app.tenant_id', true), ''))::uuid);--> statement-breakpoint
CREATE POLICY "tenant_databases_system_scope" ON "tenant_databases" AS PERMISSIVE FOR ALL TO "tenantry_app" USING ((select current_setting('app.scope', true)) = 'system') WITH CHECK ((select current_setting('app.scope', true)) = 'system');--> statement-breakpoint
CREATE POLICY "tenant_moves_tenant_isolation" ON "tenant_moves" AS PERMISSIVE FOR ALL TO "tenantry_app" USING ("tenant_moves"."tenant_id" = (select nullif(current_setting('app.tenant_id', true), ''))::uuid) WITH CHECK ("tenant_moves"."tenant_id" = (select nullif(current_setting('app.tenant_id', true), ''))::uuid);--> statement-breakpoint
CREATE POLICY "tenant_moves_system_scope" ON "tenant_moves" AS PERMISSIVE FOR ALL TO "tenantry_app" USING ((select current_setting('app.scope', true)) = 'system') WITH CHECK ((select current_setting('app.scope', true)) = 'system');--> statement-breakpoint
CREATE POLICY "webhook_relay_tenant_isolation" ON "webhook_relay" AS PERMISSIVE FOR ALL TO "tenantry_app" USING ("webhook_relay"."tenant_id" = (select nullif(current_setting('app.tenant_id', true), ''))::uuid) WITH CHECK ("webhook_relay"."tenant_id" = (select nullif(current_setting('app.tenant_id', true), ''))::uuid);--> statement-breakpoint
CREATE POLICY "webhook_relay_system_scope" ON "webhook_relay" AS PERMISSIVE FOR ALL TO "tenantry_app" USING ((select current_setting('app.scope', true)) = 'system') WITH CHECK ((select current_setting('app.scope', true)) = 'system');--> statement-breakpoint
CREATE POLICY "webhook_relayed_tenant_isolation" ON "webhook_relayed" AS PERMISSIVE FOR ALL TO "tenantry_app" USING ("webhook_relayed"."tenant_id" = (select nullif(current_setting('app.tenant_id', true), ''))::uuid) WITH CHECK ("webhook_relayed"."tenant_id" = (select nullif(current_setting('app.tenant_id', true), ''))::uuid);--> statement-breakpoint
CREATE POLICY "webhook_relayed_system_scope" ON "webhook_relayed" AS PERMISSIVE FOR ALL TO "tenantry_app" USING ((select current_setting('app.scope', true)) = 'system') WITH CHECK ((select current_setting('app.scope', true)) = 'system');--> statement-breakpoint
ALTER TABLE "tenant_databases" FORCE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "tenant_moves" FORCE ROW LEVEL SECURITY;--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE ON tenant_databases TO tenantry_app;--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE ON tenant_moves TO tenantry_app;--> statement-breakpoint
-- The tables that hold a tenant's own rows and travel with it, parents before children, and
-- audit before webhooks, so that rows written by a copy find no endpoint to emit events to.
CREATE OR REPLACE FUNCTION tenantry_tenant_tables()
RETURNS text[]
LANGUAGE sql
IMMUTABLE
AS $$
  SELECT ARRAY['clusters', 'plugins', 'credentials', 'audit_events', 'idempotency_keys', 'webhook_endpoints', 'webhook_deliveries']
$$;--> statement-breakpoint
-- The digest of a tenant's own rows, table by table: row count and the md5 of the rows as
-- jsonb text in id order. A move compares source and target with it before the switch, so
-- both databases compute it the same way. Runs as the caller, under the caller's RLS.
CREATE OR REPLACE FUNCTION tenantry_tenant_digest(tenant uuid)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
AS $$
DECLARE
  result jsonb := '{}'::jsonb;
  t text;
  rows_count bigint;
  digest text;
BEGIN
  FOREACH t IN ARRAY tenantry_tenant_tables() LOOP
    EXECUTE format(
      'SELECT count(*), md5(coalesce(string_agg(to_jsonb(r)::text, chr(10) ORDER BY r.id), %L)) FROM %I r WHERE r.tenant_id = $1',
      '', t
    ) INTO rows_count, digest USING tenant;
    result := result || jsonb_build_object(t, jsonb_build_object('rows', rows_count, 'md5', digest));
  END LOOP;
  RETURN result;
END
$$;--> statement-breakpoint
-- After a move to a dedicated database has switched, deletes the rows it copied out of the
-- control database (`ids` of one of the tables above). Audit records are append-only for the
-- runtime role, so this runs as the owner, and only where the tenant's own rows now live
-- elsewhere: in the control database (the only one with `tenant_databases` rows) of a tenant
-- that points at a dedicated database. It deletes nothing of any other tenant.
CREATE OR REPLACE FUNCTION tenantry_clear_moved_rows(tenant uuid, tbl text, ids uuid[])
RETURNS bigint
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
DECLARE
  n bigint;
BEGIN
  IF NOT (tbl = ANY (tenantry_tenant_tables())) THEN
    PERFORM tenantry_fail('validation_failed', format('%s is not a table a tenant move carries.', tbl), '{}'::jsonb);
  END IF;
  IF NOT EXISTS (
    SELECT 1 FROM tenants t JOIN tenant_databases d ON d.id = t.database_id AND d.tenant_id = t.id
    WHERE t.id = tenant AND t.isolation = 'dedicated'
  ) THEN
    PERFORM tenantry_fail('conflict', 'This tenant''s rows live in this database.', '{}'::jsonb);
  END IF;
  EXECUTE format('DELETE FROM %I WHERE tenant_id = $1 AND id = ANY ($2)', tbl) USING tenant, ids;
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END
$$;--> statement-breakpoint
REVOKE ALL ON FUNCTION tenantry_clear_moved_rows(uuid, text, uuid[]) FROM PUBLIC;--> statement-breakpoint
GRANT EXECUTE ON FUNCTION tenantry_clear_moved_rows(uuid, text, uuid[]) TO tenantry_app;--> statement-breakpoint
-- Rows a move or a restore writes were events when they first happened: the audit trigger
-- emits no webhook events while `app.copying` is on for the transaction. A dedicated tenant's
-- records in the control database emit for the relay.
CREATE OR REPLACE FUNCTION tenantry_audit_webhook_events()
RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
  facts jsonb;
BEGIN
  IF NEW.tenant_id IS NULL
    OR coalesce(current_setting('app.copying', true), '') = 'on'
    OR NOT (
      EXISTS (SELECT 1 FROM webhook_endpoints e WHERE e.tenant_id = NEW.tenant_id AND e.enabled)
      -- A dedicated tenant's endpoints are in its own database: in the control one the event
      -- is kept for the relay (tenantry_emit_webhook_event), which emits it there.
      OR EXISTS (
        SELECT 1 FROM tenants t JOIN tenant_databases d ON d.id = t.database_id AND d.tenant_id = t.id
        WHERE t.id = NEW.tenant_id
      )
    ) THEN
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
ALTER TABLE "webhook_relay" FORCE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "webhook_relayed" FORCE ROW LEVEL SECURITY;--> statement-breakpoint
GRANT SELECT, INSERT, DELETE ON webhook_relay TO tenantry_app;--> statement-breakpoint
GRANT SELECT, INSERT, DELETE ON webhook_relayed TO tenantry_app;--> statement-breakpoint
-- A dedicated tenant's endpoints live in its own database, so an event that happens in the
-- control database (an identity change, a lifecycle change, a provisioning outcome) is kept
-- in webhook_relay for src/webhooks/relay.ts to emit there. Only the control database has
-- tenant_databases rows, so in a dedicated database (and for shared tenants) this emits as
-- before. Whether the tenant has an enabled endpoint is for its own database to say, so the
-- event is kept whatever the control database's `has_webhooks` flag says (that flag only
-- spares its requests a sweep): a stale flag delays an event until the cron, never loses it.
-- A test event or a replay names its endpoint and is always emitted where it is.
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
  IF only_endpoint IS NULL AND EXISTS (
    SELECT 1 FROM tenants t JOIN tenant_databases d ON d.id = t.database_id AND d.tenant_id = t.id
    WHERE t.id = tenant
  ) THEN
    INSERT INTO webhook_relay (id, tenant_id, event_type, data, created_at)
    VALUES (event_id, tenant, event_type, data, at);
    RETURN 0;
  END IF;
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
$$;--> statement-breakpoint
-- Emits a relayed event in the tenant's own database, once per relay id however often the
-- relay runs: the deliveries it writes, or 0 when it was emitted before.
CREATE OR REPLACE FUNCTION tenantry_relay_webhook_event(relay uuid, tenant uuid, event_type text, data jsonb)
RETURNS integer
LANGUAGE plpgsql
VOLATILE
AS $$
BEGIN
  INSERT INTO webhook_relayed (id, tenant_id) VALUES (relay, tenant) ON CONFLICT (id) DO NOTHING;
  IF NOT FOUND THEN
    RETURN 0;
  END IF;
  RETURN tenantry_emit_webhook_event(tenant, event_type, data);
END
$$;--> statement-breakpoint
REVOKE ALL ON FUNCTION tenantry_relay_webhook_event(uuid, uuid, text, jsonb) FROM PUBLIC;--> statement-breakpoint
GRANT EXECUTE ON FUNCTION tenantry_relay_webhook_event(uuid, uuid, text, jsonb) TO tenantry_app;
