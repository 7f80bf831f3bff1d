-- drizzle-kit emits ENABLE but never FORCE: without FORCE the table owner would bypass the
-- policies. The runtime role gets exactly the privileges the API needs.
ALTER TABLE "tenants" FORCE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "tenant_memberships" FORCE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "invitations" FORCE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "api_keys" FORCE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "clusters" FORCE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "plugins" FORCE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "credentials" FORCE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "tenant_keys" FORCE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "audit_events" FORCE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "provisioning_jobs" FORCE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "idempotency_keys" FORCE ROW LEVEL SECURITY;--> statement-breakpoint
GRANT USAGE ON SCHEMA public TO tenantry_app;--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE, DELETE ON
  tenants, users, tenant_memberships, invitations, api_keys, clusters, plugins,
  credentials, tenant_keys, provisioning_jobs, idempotency_keys
  TO tenantry_app;--> statement-breakpoint
-- Audit rows are append-only for the API: no UPDATE, no DELETE (purge removes them by cascade).
GRANT SELECT, INSERT ON audit_events TO tenantry_app;
