/// <reference types="vite/client" />
/**
 * A dedicated tenant without the move machinery: the owner creates a database in the run's
 * Postgres (named as dev/databases/local-provider.ts names them), applies the repository's
 * drizzle/ files to it, writes the tenant's mirror row there and its `tenant_databases` row
 * (the runtime role's connection string sealed under the test MASTER_KEY) in the control
 * database, and points the tenant at it. The migrations are applied here, statement by
 * statement through the Worker's driver, because dev/migrate.ts speaks `pg`, which workerd
 * cannot load.
 *
 * Use it on a tenant that has no resources yet: rows already in the control database stay there.
 */
import { env } from "cloudflare:workers";
import { Pool } from "@neondatabase/serverless";
import { sealConnection } from "../../src/databases/sealed-connection";
import { clearTenantCache } from "../../src/services/tenancy/tenant-directory";

const MIGRATIONS = import.meta.glob<string>("../../drizzle/*.sql", {
  query: "?raw",
  import: "default",
  eager: true,
});

export interface DedicatedDatabase {
  databaseId: string;
  /** The database's name in the run's Postgres. */
  ref: string;
  region: string;
  /** The runtime role's connection string to it (RLS applies), as the Worker opens it. */
  runtimeUrl: string;
  /** The owner's connection to it (bypasses RLS), for assertions. */
  admin: Pool;
  /** Closes `admin` and drops the database. */
  drop(): Promise<void>;
}

/**
 * Makes `tenantId` (a row of the control database that `admin`, the owner, reaches) a dedicated
 * tenant in `region`, and forgets this isolate's cached tenant records so the Worker reads it anew.
 */
export async function makeDedicated(
  admin: Pool,
  tenantId: string,
  opts: { region?: string } = {},
): Promise<DedicatedDatabase> {
  const region = opts.region ?? "eu-central";
  const ref = `tenantry_t_${tenantId.replaceAll("-", "")}`;
  await admin.query(`create database ${ref}`);
  const own = new Pool({ connectionString: withDatabase(env.TEST_ADMIN_DATABASE_URL, ref), max: 2 });
  own.on("error", () => {});
  for (const file of Object.keys(MIGRATIONS).sort()) {
    for (const statement of (MIGRATIONS[file] as string).split("--> statement-breakpoint")) {
      if (statement.trim()) await own.query(statement);
    }
  }

  const databaseId = crypto.randomUUID();
  const runtimeUrl = withDatabase(env.DATABASE_URL, ref);
  const sealed = await sealConnection(env.MASTER_KEY, { tenantId, databaseId }, runtimeUrl);
  const { rows } = await admin.query<{ slug: string; name: string; plan: string; status: string }>(
    "select slug, name, plan, status from tenants where id = $1",
    [tenantId],
  );
  const tenant = rows[0];
  if (!tenant) throw new Error(`no tenant ${tenantId} to make dedicated`);
  await own.query(
    `insert into tenants (id, slug, name, plan, status, isolation, region, database_id)
     values ($1, $2, $3, $4, $5, 'dedicated', $6, $7)`,
    [tenantId, tenant.slug, tenant.name, tenant.plan, tenant.status, region, databaseId],
  );
  await admin.query(
    `insert into tenant_databases (id, tenant_id, provider, ref, region, connection_sealed, status)
     values ($1, $2, 'local', $3, $4, $5, 'ready')`,
    [databaseId, tenantId, ref, region, sealed],
  );
  await admin.query(
    "update tenants set isolation = 'dedicated', region = $2, database_id = $3 where id = $1",
    [tenantId, region, databaseId],
  );
  clearTenantCache();
  return {
    databaseId,
    ref,
    region,
    runtimeUrl,
    admin: own,
    drop: async () => {
      await own.end();
      await admin.query("update tenant_databases set status = 'dropped', dropped_at = now() where id = $1", [
        databaseId,
      ]);
      await admin.query(`drop database if exists ${ref} with (force)`);
    },
  };
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}
