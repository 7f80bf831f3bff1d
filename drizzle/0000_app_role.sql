-- The runtime role the Worker connects as. NOLOGIN here: the deployment (or the local
-- stack) gives it a password and LOGIN, so migrations never carry a secret. It must stay a
-- plain role: superusers and BYPASSRLS roles ignore row-level security even when FORCEd.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'tenantry_app') THEN
    CREATE ROLE tenantry_app NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
  END IF;
END
$$;
