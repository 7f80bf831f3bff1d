DROP INDEX "idempotency_keys_scope_key";--> statement-breakpoint
ALTER TABLE "idempotency_keys" ADD COLUMN "principal" text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "email_normalized" text;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "password_expires_at" timestamp (3) with time zone;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "must_change_password" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "token_version" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "token_version_changed_at" timestamp (3) with time zone;--> statement-breakpoint
-- Backfill the comparison form of every email. Rows that would collide in that form keep a
-- null (the oldest row gets the value) and are reported rather than failing the migration;
-- an operator merges or renames them. normalize() needs a UTF8 database (Neon's are).
DO $$
DECLARE
  collision record;
BEGIN
  WITH ranked AS (
    SELECT id, lower(normalize(email, NFKC)) AS norm,
           row_number() OVER (PARTITION BY lower(normalize(email, NFKC)) ORDER BY created_at, id) AS rank
    FROM users)
  UPDATE users SET email_normalized = ranked.norm FROM ranked WHERE users.id = ranked.id AND ranked.rank = 1;
  FOR collision IN SELECT id, email FROM users WHERE email_normalized IS NULL ORDER BY created_at, id LOOP
    RAISE WARNING 'tenantry: user % (%) has the same normalised email as an older user; it cannot sign in until merged or renamed',
      collision.id, collision.email;
  END LOOP;
END
$$;--> statement-breakpoint
CREATE UNIQUE INDEX "users_email_normalized_key" ON "users" USING btree ("email_normalized");--> statement-breakpoint
CREATE UNIQUE INDEX "idempotency_keys_scope_key" ON "idempotency_keys" USING btree (coalesce("tenant_id", '00000000-0000-0000-0000-000000000000'::uuid),"route","key","principal");--> statement-breakpoint
-- NOT VALID: the rule binds new and updated rows at once; tenants that already break it are
-- reported here (they keep working, and resolve only by id) instead of failing the migration.
DO $$
DECLARE
  offender record;
BEGIN
  FOR offender IN SELECT id, slug FROM tenants
    WHERE slug = any (array['www', 'api', 'admin', 'app', 'auth', 'static', 'console', 'docs', 'mail', 'metrics', 'health', 'status', 'assets', 'cdn', 'dashboard', 'billing', 'support', 'help', 'system', 'internal', 'root']::text[])
       OR slug ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
  LOOP
    RAISE WARNING 'tenantry: tenant % has the reserved or uuid-shaped slug %', offender.id, offender.slug;
  END LOOP;
END
$$;--> statement-breakpoint
ALTER TABLE "tenants" ADD CONSTRAINT "tenants_slug_not_reserved_check" CHECK ("tenants"."slug" <> all (array['www', 'api', 'admin', 'app', 'auth', 'static', 'console', 'docs', 'mail', 'metrics', 'health', 'status', 'assets', 'cdn', 'dashboard', 'billing', 'support', 'help', 'system', 'internal', 'root']::text[]) and "tenants"."slug" !~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$') NOT VALID;
--> statement-breakpoint
-- Every writer (the API, the seed, admin:create, an operator's SQL) gets the same comparison
-- form, computed by the database that compares it.
CREATE FUNCTION tenantry_normalize_email() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.email_normalized := lower(normalize(NEW.email, NFKC));
  RETURN NEW;
END
$$;--> statement-breakpoint
CREATE TRIGGER users_normalize_email BEFORE INSERT OR UPDATE OF email ON users
  FOR EACH ROW EXECUTE FUNCTION tenantry_normalize_email();
