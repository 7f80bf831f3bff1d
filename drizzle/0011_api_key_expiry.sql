-- API keys that expire soon, across tenants, for the daily reminder to each tenant's admins
-- (src/notifications/expiring-keys.ts). api_keys has no system-scope policy on purpose, so a
-- system-scope query sees none of them; this function (SECURITY INVOKER: it runs as the
-- caller, under RLS) visits each active tenant in turn, pins app.tenant_id to it for the rest
-- of the transaction, and reads that tenant's keys as the tenant would. Only non-secret
-- columns leave it. The caller runs it in a system-scope transaction (to see every tenant),
-- in one statement.
CREATE OR REPLACE FUNCTION tenantry_expiring_api_keys(expiring_before timestamptz)
RETURNS TABLE (id uuid, tenant_id uuid, name text, prefix text, expires_at timestamptz)
LANGUAGE plpgsql
VOLATILE
AS $$
DECLARE
  tenant uuid;
BEGIN
  FOR tenant IN SELECT t.id FROM tenants t WHERE t.status = 'active' ORDER BY t.id LOOP
    PERFORM set_config('app.tenant_id', tenant::text, true);
    RETURN QUERY
      SELECT k.id, k.tenant_id, k.name, k.prefix, k.expires_at
      FROM api_keys k
      WHERE k.tenant_id = tenant
        AND k.revoked_at IS NULL
        AND k.expires_at > now()
        AND k.expires_at <= expiring_before;
  END LOOP;
  PERFORM set_config('app.tenant_id', '', true);
END
$$;
--> statement-breakpoint
REVOKE ALL ON FUNCTION tenantry_expiring_api_keys(timestamptz) FROM PUBLIC;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION tenantry_expiring_api_keys(timestamptz) TO tenantry_app;
