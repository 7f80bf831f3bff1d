/**
 * Database preparation shared by the dev stack, the test setup and `npm run db:migrate`:
 * create the database, apply `drizzle/` with drizzle's migrator (the same files production
 * uses), ensure the runtime role (a plain LOGIN role that row-level security binds), and seed
 * the default tenant and system admin. Migrating one database is
 * provisioner/src/databases/migrate-database.ts, which the provisioner shares.
 *
 * `npm run db:migrate` takes two URLs: MIGRATION_DATABASE_URL (the owner, a direct
 * connection) applies the schema; DATABASE_URL (what the Worker uses) names the runtime role
 * and its password. Then it migrates every dedicated tenant database the control database
 * lists (dev/migrate-tenant-databases.ts), which needs MASTER_KEY, and NEON_API_KEY (and
 * NEON_API_URL, optional) for Neon ones; these come from the environment or `.dev.vars`.
 */
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import {
  APP_ROLE,
  errorText,
  MigrationRefused,
  type MigrationReport,
  migrateDatabase,
  withClient,
  withDatabase,
} from "../provisioner/src/databases/migrate-database";
import { NeonApi } from "../src/databases/neon-api";
import { DEV_VARS_FILE, MissingVariables, parseDevVars, resolveVars, safeUrl } from "./dev-vars";
import { describeOutcome, migrateTenantDatabases } from "./migrate-tenant-databases";
import { hashPassword } from "./passwords";

export {
  APP_ROLE,
  applyMigrations,
  errorText,
  MigrationRefused,
  type MigrationReport,
  migrateDatabase,
  withClient,
  withDatabase,
} from "../provisioner/src/databases/migrate-database";

export interface PreparedDatabase {
  /** Owner connection, for migrations and test fixtures that must bypass RLS. */
  adminUrl: string;
  /** The runtime role's connection: what the Worker uses. */
  appUrl: string;
}

export async function prepareDatabase(opts: {
  serverUrl: string;
  database: string;
  appPassword: string;
}): Promise<PreparedDatabase> {
  await createDatabaseIfMissing(opts.serverUrl, opts.database);
  const adminUrl = withDatabase(opts.serverUrl, opts.database);
  const appUrl = new URL(adminUrl);
  appUrl.username = APP_ROLE;
  appUrl.password = opts.appPassword;
  await migrateDatabase({ migrationUrl: adminUrl, databaseUrl: appUrl.toString() });
  return { adminUrl, appUrl: appUrl.toString() };
}

export interface SeedOptions {
  adminEmail: string;
  adminPassword: string;
}

/** Idempotent: re-running keeps existing rows (and the admin's current password). */
export async function seed(
  adminUrl: string,
  opts: SeedOptions,
): Promise<{ tenantId: string; userId: string }> {
  const passwordHash = await hashPassword(opts.adminPassword);
  return withClient(adminUrl, async (client) => {
    await client.query("begin");
    const tenant = await client.query<{ id: string }>(
      `insert into tenants (slug, name, plan) values ('default', 'Default', 'enterprise')
       on conflict (slug) do update set slug = excluded.slug returning id`,
    );
    const user = await client.query<{ id: string }>(
      `insert into users (email, name, password_hash, is_system_admin) values ($1, 'System admin', $2, true)
       on conflict (lower(email)) do update set is_system_admin = true returning id`,
      [opts.adminEmail, passwordHash],
    );
    const tenantId = tenant.rows[0]?.id as string;
    const userId = user.rows[0]?.id as string;
    await client.query(
      `insert into tenant_memberships (tenant_id, user_id, role) values ($1, $2, 'admin')
       on conflict do nothing`,
      [tenantId, userId],
    );
    await client.query("commit");
    return { tenantId, userId };
  });
}

export async function dropDatabase(serverUrl: string, database: string): Promise<void> {
  await withClient(serverUrl, async (client) => {
    await client.query(`drop database if exists "${database}" with (force)`);
  });
}

async function createDatabaseIfMissing(serverUrl: string, database: string): Promise<void> {
  await withClient(serverUrl, async (client) => {
    const exists = await client.query("select 1 from pg_database where datname = $1", [database]);
    if (exists.rowCount === 0) await client.query(`create database "${database}"`);
  });
}

function describeReport(report: MigrationReport): string[] {
  const changed = report.applied.length > 0 || report.roleCreated || report.grantedAppRole || report.loginSet;
  const role = report.runtimeRole;
  return [
    report.applied.length > 0
      ? `  migrations    applied ${report.applied.length}: ${report.applied.join(", ")} (${report.total} in all)`
      : `  migrations    up to date (${report.total} applied)`,
    report.roleCreated
      ? `  runtime role  ${role} created: NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE, not the owner`
      : `  runtime role  ${role} exists`,
    ...(report.grantedAppRole
      ? [`  grants        ${role} is now a member of ${APP_ROLE} (its grants and RLS policies)`]
      : []),
    report.loginSet
      ? `  login         LOGIN with the password in DATABASE_URL set; DATABASE_URL logs in`
      : "  login         DATABASE_URL logs in (password unchanged)",
    `  checked       ${role}: not a superuser, no BYPASSRLS, owns no tables, member of no role that does`,
    `  RLS           ENABLE + FORCE on all ${report.rlsTables.length} tenant tables (${report.rlsTables.join(", ")})`,
    changed ? "done" : "nothing to do: already up to date",
  ];
}

/** An optional variable: from the environment, else from `.dev.vars` when that is the source. */
function optionalVar(name: string, source: string): string | undefined {
  if (process.env[name]) return process.env[name];
  if (source === "environment" || !existsSync(DEV_VARS_FILE)) return undefined;
  return parseDevVars(readFileSync(DEV_VARS_FILE, "utf8"))[name] || undefined;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  let failed = false;
  try {
    const { values, source } = resolveVars(["MIGRATION_DATABASE_URL", "DATABASE_URL"]);
    const migrationUrl = values.MIGRATION_DATABASE_URL as string;
    const databaseUrl = values.DATABASE_URL as string;
    console.log(`db:migrate: MIGRATION_DATABASE_URL and DATABASE_URL from ${source}`);
    console.log(`  owner         ${safeUrl(migrationUrl)}`);
    console.log(`  runtime       ${safeUrl(databaseUrl)}`);
    const report = await migrateDatabase({ migrationUrl, databaseUrl });
    for (const line of describeReport(report)) console.log(line);

    const neonKey = optionalVar("NEON_API_KEY", source);
    const outcomes = await migrateTenantDatabases({
      migrationUrl,
      masterKey: optionalVar("MASTER_KEY", source),
      neon: neonKey
        ? new NeonApi({ apiKey: neonKey, baseUrl: optionalVar("NEON_API_URL", source) })
        : undefined,
    });
    console.log(`dedicated databases: ${outcomes.length}`);
    for (const outcome of outcomes) console.log(`  ${describeOutcome(outcome)}`);
    const failures = outcomes.filter((outcome) => !outcome.ok);
    if (failures.length > 0) {
      console.error(
        `db:migrate failed for ${failures.length} of ${outcomes.length} dedicated databases: ${failures.map((f) => `tenant ${f.tenantId}`).join(", ")}`,
      );
      failed = true;
    }
  } catch (err) {
    const kind = err instanceof MigrationRefused || err instanceof MissingVariables ? "refused" : "failed";
    console.error(`db:migrate ${kind}: ${errorText(err)}`);
    failed = true;
  }
  if (failed) process.exit(1);
}
