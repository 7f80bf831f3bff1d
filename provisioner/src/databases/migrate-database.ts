/**
 * Applies the repository's `drizzle/` migrations to one Postgres database as its owner and
 * makes sure the runtime role logs in and is bound by row-level security. Shared by
 * `npm run db:migrate` (dev/migrate.ts: the control database and every dedicated one) and the
 * provisioner, which migrates each dedicated database it creates.
 *
 * The runtime role must be a plain LOGIN role: on Neon, roles made in the console or API
 * belong to `neon_superuser` and bypass RLS, so it is created here, in SQL, and refused if it
 * is privileged.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { drizzle } from "drizzle-orm/node-postgres";
import { migrate } from "drizzle-orm/node-postgres/migrator";
import pg from "pg";

export const APP_ROLE = "tenantry_app";
/**
 * The repository's `drizzle/` folder, seen from this file in the source tree; the
 * provisioner's image sets DATABASE_MIGRATIONS_DIR instead (its bundle lives elsewhere).
 */
export const MIGRATIONS_FOLDER = fileURLToPath(new URL("../../../drizzle", import.meta.url));
const LOGIN_TIMEOUT_MS = 10_000;
const SCRAM_ITERATIONS = 4096;

/** A refusal the operator must fix (as opposed to a failure to connect). */
export class MigrationRefused extends Error {}

export interface MigrationReport {
  /** The role MIGRATION_DATABASE_URL connects as. */
  owner: string;
  /** Tags of the migrations this run applied (empty when the schema was up to date). */
  applied: string[];
  /** Migrations recorded in the database after the run. */
  total: number;
  runtimeRole: string;
  /** The runtime role did not exist before this run (the migrations or this step created it). */
  roleCreated: boolean;
  /** Set when the runtime role is not APP_ROLE itself: it inherits APP_ROLE's grants and policies. */
  grantedAppRole: boolean;
  /** LOGIN and the password from DATABASE_URL were (re)set: DATABASE_URL did not log in before. */
  loginSet: boolean;
  /** Tenant tables checked for ENABLE + FORCE ROW LEVEL SECURITY. */
  rlsTables: string[];
}

/**
 * Applies the schema as the owner, then creates or ensures the runtime role named by
 * `databaseUrl` and checks that row-level security binds it: not the owner, no superuser or
 * BYPASSRLS (itself or through a role it belongs to), FORCE RLS on every tenant table, and
 * `databaseUrl` logs in. Idempotent: a second run changes nothing.
 */
export async function migrateDatabase(opts: {
  migrationUrl: string;
  databaseUrl: string;
  migrationsFolder?: string;
}): Promise<MigrationReport> {
  const folder = opts.migrationsFolder ?? MIGRATIONS_FOLDER;
  const runtime = runtimeCredentials(opts.databaseUrl);
  const { owner, before, existed } = await withClient(opts.migrationUrl, async (client) => {
    const { rows } = await client.query<{ owner: string }>("select current_user as owner");
    return {
      owner: rows[0]?.owner as string,
      before: await migrationCount(client),
      existed: await roleExists(client, runtime.role),
    };
  });
  if (owner === runtime.role) {
    throw new MigrationRefused(
      `DATABASE_URL connects as ${owner}, the role MIGRATION_DATABASE_URL migrates as: the owner of the tables is not bound by row-level security. Give DATABASE_URL its own role (e.g. ${APP_ROLE}); db:migrate creates it.`,
    );
  }
  // An existing role is only ever checked, never altered: pointing DATABASE_URL at an
  // administrator by mistake must not strip that administrator's rights.
  if (existed) await withClient(opts.migrationUrl, (client) => assertBoundByRls(client, runtime.role));
  await applyMigrations(opts.migrationUrl, folder);
  const total = await withClient(opts.migrationUrl, migrationCount);
  const journal = JSON.parse(await readFile(join(folder, "meta", "_journal.json"), "utf8")) as {
    entries: Array<{ tag: string }>;
  };
  const applied = journal.entries.slice(before, total).map((entry) => entry.tag);

  return withClient(opts.migrationUrl, async (client) => {
    const role = client.escapeIdentifier(runtime.role);
    // The migrations create APP_ROLE itself (NOLOGIN); another name is created here.
    if (!(await roleExists(client, runtime.role))) {
      await client.query(
        `create role ${role} nologin nosuperuser nobypassrls nocreatedb nocreaterole noreplication inherit`,
      );
    }
    let grantedAppRole = false;
    if (runtime.role !== APP_ROLE) {
      const member = await client.query<{ member: boolean }>(
        "select pg_has_role($1, $2, 'USAGE') as member",
        [runtime.role, APP_ROLE],
      );
      if (!member.rows[0]?.member) {
        await client.query(`grant ${client.escapeIdentifier(APP_ROLE)} to ${role}`);
        grantedAppRole = true;
      }
    }
    await assertBoundByRls(client, runtime.role);

    let loginSet = false;
    if (!(await logsIn(opts.databaseUrl))) {
      // A SCRAM verifier rather than the password: the secret never reaches the server's logs.
      await client.query(
        `alter role ${role} login password ${client.escapeLiteral(scramVerifier(runtime.password))}`,
      );
      loginSet = true;
      await assertLogsIn(opts.databaseUrl);
    }
    const rlsTables = await assertForcedRls(client);
    return {
      owner,
      applied,
      total,
      runtimeRole: runtime.role,
      roleCreated: !existed,
      grantedAppRole,
      loginSet,
      rlsTables,
    };
  });
}

export async function applyMigrations(url: string, migrationsFolder = MIGRATIONS_FOLDER): Promise<void> {
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

export async function withClient<T>(
  url: string,
  fn: (client: pg.Client) => Promise<T>,
  connectionTimeoutMillis?: number,
): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis });
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

function runtimeCredentials(databaseUrl: string): { role: string; password: string } {
  let url: URL;
  try {
    url = new URL(databaseUrl);
  } catch {
    throw new MigrationRefused("DATABASE_URL is not a URL (postgres://<role>:<password>@<host>/<database>).");
  }
  const role = decodeURIComponent(url.username);
  const password = decodeURIComponent(url.password);
  if (!role || !password) {
    throw new MigrationRefused(
      "DATABASE_URL must carry the runtime role's name and password (postgres://<role>:<password>@<host>/<database>): db:migrate creates that role with that password.",
    );
  }
  return { role, password };
}

async function migrationCount(client: pg.Client): Promise<number> {
  const table = await client.query<{ present: boolean }>(
    "select to_regclass('drizzle.__drizzle_migrations') is not null as present",
  );
  if (!table.rows[0]?.present) return 0;
  const { rows } = await client.query<{ n: number }>(
    "select count(*)::int as n from drizzle.__drizzle_migrations",
  );
  return rows[0]?.n ?? 0;
}

async function roleExists(client: pg.Client, role: string): Promise<boolean> {
  const { rowCount } = await client.query("select 1 from pg_roles where rolname = $1", [role]);
  return rowCount === 1;
}

/**
 * Refuses a runtime role that row-level security would not bind: a superuser, BYPASSRLS, an
 * owner of the tables, or a member of any such role (which could SET ROLE to it), Neon's
 * `neon_superuser` included.
 */
async function assertBoundByRls(client: pg.Client, role: string): Promise<void> {
  const { rows } = await client.query<{
    rolname: string;
    rolsuper: boolean;
    rolbypassrls: boolean;
    owns_tables: boolean;
  }>(
    `select r.rolname, r.rolsuper, r.rolbypassrls,
            exists (select 1 from pg_class c join pg_namespace n on n.oid = c.relnamespace
                     where n.nspname = 'public' and c.relkind in ('r', 'p') and c.relowner = r.oid) as owns_tables
       from pg_roles r
      where pg_has_role($1, r.oid, 'MEMBER')
        and (r.rolsuper or r.rolbypassrls or r.rolname = 'neon_superuser'
             or exists (select 1 from pg_class c join pg_namespace n on n.oid = c.relnamespace
                         where n.nspname = 'public' and c.relkind in ('r', 'p') and c.relowner = r.oid))
      order by r.rolname`,
    [role],
  );
  if (rows.length === 0) return;
  const reasons = rows.map((r) => {
    const what = [
      r.rolsuper && "is a superuser",
      r.rolbypassrls && "has BYPASSRLS",
      r.owns_tables && "owns the tables",
      r.rolname === "neon_superuser" && "is Neon's console role",
    ]
      .filter(Boolean)
      .join(", ");
    return r.rolname === role ? `${role} ${what}` : `${role} is a member of ${r.rolname}, which ${what}`;
  });
  throw new MigrationRefused(
    `the runtime role in DATABASE_URL would not be bound by row-level security: ${reasons.join("; ")}. ` +
      "Use a role that db:migrate creates (a new name, or drop this one first); on Neon, do not create it in the console or API.",
  );
}

async function logsIn(url: string): Promise<boolean> {
  try {
    await withClient(url, async () => {}, LOGIN_TIMEOUT_MS);
    return true;
  } catch {
    return false;
  }
}

async function assertLogsIn(url: string): Promise<void> {
  try {
    await withClient(url, async () => {}, LOGIN_TIMEOUT_MS);
  } catch (err) {
    throw new Error(
      `the runtime role's password was set, but DATABASE_URL still cannot log in: ${errorText(err)}`,
    );
  }
}

/** Every tenant table (`tenants` and each table with a `tenant_id`) must ENABLE and FORCE RLS. */
async function assertForcedRls(client: pg.Client): Promise<string[]> {
  const { rows } = await client.query<{ relname: string; enabled: boolean; forced: boolean }>(
    `select c.relname, c.relrowsecurity as enabled, c.relforcerowsecurity as forced
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = 'public' and c.relkind in ('r', 'p')
        and (c.relname = 'tenants' or exists (
              select 1 from pg_attribute a
               where a.attrelid = c.oid and a.attname = 'tenant_id' and not a.attisdropped))
      order by c.relname`,
  );
  const loose = rows.filter((r) => !(r.enabled && r.forced)).map((r) => r.relname);
  if (loose.length > 0) {
    throw new MigrationRefused(
      `row-level security is not ENABLEd and FORCEd on ${loose.join(", ")}: add a migration that does (see drizzle/0002_force_rls_and_grants.sql).`,
    );
  }
  return rows.map((r) => r.relname);
}

/**
 * A SCRAM-SHA-256 verifier as Postgres stores it (RFC 7677), computed like the `pg` and Neon
 * drivers compute their proof: over the password's UTF-8 bytes.
 */
function scramVerifier(password: string): string {
  const salt = randomBytes(16);
  const salted = pbkdf2Sync(password, salt, SCRAM_ITERATIONS, 32, "sha256");
  const clientKey = createHmac("sha256", salted).update("Client Key").digest();
  const storedKey = createHash("sha256").update(clientKey).digest("base64");
  const serverKey = createHmac("sha256", salted).update("Server Key").digest("base64");
  return `SCRAM-SHA-256$${SCRAM_ITERATIONS}:${salt.toString("base64")}$${storedKey}:${serverKey}`;
}

/** pg reports a refused connection as an AggregateError with an empty message. */
export function errorText(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) return errorText(err.errors[0]);
  if (err instanceof Error) return err.message || (err as { code?: string }).code || err.name;
  return String(err);
}
