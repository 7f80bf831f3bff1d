/**
 * Database preparation shared by the dev stack, the test setup and `npm run db:migrate`:
 * create the database, apply `drizzle/` with drizzle's migrator (the same files production
 * uses), give the runtime role a login, and seed the default tenant and system admin.
 */
import { fileURLToPath } from "node:url";
import { drizzle } from "drizzle-orm/node-postgres";
import { migrate } from "drizzle-orm/node-postgres/migrator";
import pg from "pg";
import { hashPassword } from "./passwords";

export const APP_ROLE = "tenantry_app";
const MIGRATIONS = fileURLToPath(new URL("../drizzle", import.meta.url));

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
  await applyMigrations(adminUrl);
  await withClient(adminUrl, async (client) => {
    await client.query(`alter role ${APP_ROLE} login password '${escapeLiteral(opts.appPassword)}'`);
  });
  const appUrl = new URL(adminUrl);
  appUrl.username = APP_ROLE;
  appUrl.password = opts.appPassword;
  return { adminUrl, appUrl: appUrl.toString() };
}

export async function applyMigrations(url: string, migrationsFolder = MIGRATIONS): Promise<void> {
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  // Migrations report what they cannot fix (e.g. colliding emails) as warnings: show them.
  pool.on("connect", (client) =>
    client.on("notice", (notice) => {
      if (notice.severity === "WARNING") console.warn(`migration warning: ${notice.message}`);
    }),
  );
  try {
    await migrate(drizzle({ client: pool }), { migrationsFolder });
  } finally {
    await pool.end();
  }
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

export async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export function withDatabase(url: string, database: string): string {
  const out = new URL(url);
  out.pathname = `/${database}`;
  return out.toString();
}

function escapeLiteral(value: string): string {
  return value.replaceAll("'", "''");
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const url = process.env.DATABASE_URL;
  if (!url) {
    console.error("DATABASE_URL is not set: it must point at the database to migrate (as its owner).");
    process.exit(1);
  }
  await applyMigrations(url);
  console.log("migrations applied");
}
