-- Per-tenant IP allowlists: normalised prefixes (src/lib/cidr.ts), and which requests they
-- gate. New columns of an existing table: the table-wide grants of 0002 and its RLS policies
-- already cover them.
-- Written while 0009 was: its journal `when` is later than 0009's, so a database that already
-- applied 0009 still applies this one (drizzle's migrator skips entries older than the newest
-- applied), and a new database applies both in journal order.
ALTER TABLE "tenants" ADD COLUMN "ip_allowlist" jsonb DEFAULT '[]'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "tenants" ADD COLUMN "ip_allowlist_applies_to" text DEFAULT 'api_keys' NOT NULL;--> statement-breakpoint
ALTER TABLE "tenants" ADD CONSTRAINT "tenants_ip_allowlist_check" CHECK (jsonb_typeof("tenants"."ip_allowlist") = 'array' and jsonb_array_length("tenants"."ip_allowlist") <= 100);--> statement-breakpoint
ALTER TABLE "tenants" ADD CONSTRAINT "tenants_ip_allowlist_applies_to_check" CHECK ("tenants"."ip_allowlist_applies_to" in ('api_keys', 'all'));
