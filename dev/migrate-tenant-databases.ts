/**
 * The second half of `npm run db:migrate`: every dedicated tenant database the control
 * database lists (`tenant_databases` rows that are `ready` or `retired`) is migrated like the
 * control database, as its owner: locally the control database's owner with the database
 * swapped, on Neon the project owner's URI from the Neon API. Each runtime connection string
 * is opened from its sealed column with MASTER_KEY. One database failing does not stop the
 * others; the outcome of each is answered, in the order the databases were made.
 */
import {
  errorText,
  migrateDatabase,
  withClient,
  withDatabase,
} from "../provisioner/src/databases/migrate-database";
import { neonOwnerUrl } from "../provisioner/src/databases/neon";
import type { NeonApi } from "../src/databases/neon-api";
import { openConnection } from "../src/databases/sealed-connection";

export interface TenantDatabaseRow {
  id: string;
  tenantId: string;
  provider: string;
  ref: string;
}

export type TenantDatabaseOutcome = TenantDatabaseRow &
  ({ ok: true; applied: number; total: number } | { ok: false; error: string });

export async function migrateTenantDatabases(opts: {
  /** The control database's owner (MIGRATION_DATABASE_URL). */
  migrationUrl: string;
  /** MASTER_KEY, which sealed the connection strings; only needed when there are databases. */
  masterKey: string | undefined;
  /** From NEON_API_KEY; only needed for Neon databases. */
  neon: NeonApi | undefined;
  migrationsFolder?: string;
}): Promise<TenantDatabaseOutcome[]> {
  const rows = await listTenantDatabases(opts.migrationUrl);
  const outcomes: TenantDatabaseOutcome[] = [];
  for (const { sealed, ...row } of rows) {
    try {
      if (!opts.masterKey) throw new Error("MASTER_KEY is not set: the connection string cannot be opened");
      const databaseUrl = await openConnection(
        opts.masterKey,
        { tenantId: row.tenantId, databaseId: row.id },
        sealed,
      );
      const report = await migrateDatabase({
        migrationUrl: await ownerUrl(row, databaseUrl, opts),
        databaseUrl,
        migrationsFolder: opts.migrationsFolder,
      });
      outcomes.push({ ...row, ok: true, applied: report.applied.length, total: report.total });
    } catch (err) {
      outcomes.push({ ...row, ok: false, error: errorText(err) });
    }
  }
  return outcomes;
}

export function describeOutcome(outcome: TenantDatabaseOutcome): string {
  const name = `tenant ${outcome.tenantId} ${outcome.provider}:${outcome.ref}`;
  return outcome.ok
    ? `${name} applied ${outcome.applied}, total ${outcome.total}`
    : `${name} failed: ${outcome.error}`;
}

/** Read as the owner under the system scope: FORCE RLS binds the owner too. */
async function listTenantDatabases(
  migrationUrl: string,
): Promise<(TenantDatabaseRow & { sealed: string })[]> {
  return withClient(migrationUrl, async (client) => {
    await client.query("begin");
    try {
      await client.query("select set_config('app.scope', 'system', true)");
      const { rows } = await client.query<TenantDatabaseRow & { sealed: string }>(
        `select id, tenant_id as "tenantId", provider, ref, connection_sealed as sealed
           from tenant_databases where status in ('ready', 'retired') order by created_at, id`,
      );
      return rows;
    } finally {
      await client.query("commit");
    }
  });
}

async function ownerUrl(
  row: TenantDatabaseRow,
  databaseUrl: string,
  opts: { migrationUrl: string; neon: NeonApi | undefined },
): Promise<string> {
  if (row.provider === "local") return withDatabase(opts.migrationUrl, row.ref);
  if (row.provider === "neon") {
    if (!opts.neon) throw new Error("NEON_API_KEY is not set: the project owner's URI cannot be looked up");
    return neonOwnerUrl(opts.neon, row.ref, decodeURIComponent(new URL(databaseUrl).pathname.slice(1)));
  }
  throw new Error(`unknown provider ${row.provider}`);
}
