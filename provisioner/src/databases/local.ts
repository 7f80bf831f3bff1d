/**
 * `DATABASE_PROVIDER=local`: a tenant's database is `tenantry_t_<uuid hex>` in one Postgres
 * server (the dev stack's), named like dev/databases/local-provider.ts names it. The owner
 * (DATABASE_ADMIN_URL) creates, migrates and drops it; the answer is DATABASE_RUNTIME_URL with
 * the database swapped, the runtime role being one per server.
 */
import type pg from "pg";
import { withClient, withDatabase } from "./migrate-database";
import { DatabaseConflict, type Migrate, type TenantDatabases } from "./tenant-databases";

const DATABASE_PREFIX = "tenantry_t_";
/** Postgres's `duplicate_database`: a concurrent create got there first. */
const DUPLICATE_DATABASE = "42P04";

export function localDatabases(opts: {
  adminUrl: string;
  runtimeUrl: string;
  migrate: Migrate;
  migrationsFolder?: string;
}): TenantDatabases {
  return {
    provider: "local",
    // The server is in no region: the region asked for is recorded, not acted on.
    async create({ tenantId, region }) {
      const ref = localDatabaseName(tenantId);
      await withClient(opts.adminUrl, async (client) => {
        if (await exists(client, ref)) return;
        await client.query(`create database ${client.escapeIdentifier(ref)}`).catch((err: unknown) => {
          if ((err as { code?: string }).code !== DUPLICATE_DATABASE) throw err;
        });
      });
      const connectionString = withDatabase(opts.runtimeUrl, ref);
      await opts.migrate({
        migrationUrl: withDatabase(opts.adminUrl, ref),
        databaseUrl: connectionString,
        migrationsFolder: opts.migrationsFolder,
      });
      return { ref, region, connectionString };
    },
    async drop({ tenantId, ref }) {
      // Only the tenant's own database, never the control database or another tenant's.
      if (ref !== localDatabaseName(tenantId)) {
        throw new DatabaseConflict(`${ref} is not the database of tenant ${tenantId}`);
      }
      return withClient(opts.adminUrl, async (client) => {
        if (!(await exists(client, ref))) return "gone";
        await client.query(`drop database if exists ${client.escapeIdentifier(ref)} with (force)`);
        return "dropped";
      });
    },
  };
}

/** The contract has checked `tenantId` is a uuid, so the name is a safe identifier. */
export function localDatabaseName(tenantId: string): string {
  return `${DATABASE_PREFIX}${tenantId.toLowerCase().replaceAll("-", "")}`;
}

async function exists(client: pg.Client, name: string): Promise<boolean> {
  const { rowCount } = await client.query("select 1 from pg_database where datname = $1", [name]);
  return rowCount === 1;
}
