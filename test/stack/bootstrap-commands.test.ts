/**
 * `npm run db:migrate` and `npm run admin:create` as an operator runs them: the real scripts
 * as child processes, configured by environment variables or by a `.dev.vars` file in their
 * working directory, against a Postgres this file starts.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dropDatabase, withClient, withDatabase } from "../../dev/migrate";
import { type PostgresService, startPostgres } from "../../dev/servers/postgres";
import { createArgon2id } from "../../src/lib/argon2id";
import { TEMPORARY_PASSWORD_TTL_MS } from "../../src/lib/temporary-passwords";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const require = createRequire(import.meta.url);
const TSX = require.resolve("tsx/cli");
const MIGRATE = join(ROOT, "dev", "migrate.ts");
const ADMIN_CREATE = join(ROOT, "scripts", "admin-create.ts");
const TENANT_TABLES = 19;

const { WebAssembly: wasmRuntime } = globalThis as unknown as {
  WebAssembly: { Module: new (bytes: Uint8Array) => object };
};
const argon2id = createArgon2id(
  new wasmRuntime.Module(readFileSync(require.resolve("@phi-ag/argon2/argon2.wasm"))),
);

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a script under tsx with exactly `env` (no URL leaks in from the test's own environment). */
function run(
  script: string,
  args: string[],
  opts: { env?: Record<string, string>; cwd?: string; input?: string },
): Promise<Run> {
  const { DATABASE_URL: _a, MIGRATION_DATABASE_URL: _b, ...inherited } = process.env;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [TSX, script, ...args], {
      cwd: opts.cwd ?? ROOT,
      env: { ...inherited, ...opts.env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(opts.input ?? "");
  });
}

describe("db:migrate and admin:create", () => {
  let postgres: PostgresService;
  const database = `tenantry_bootstrap_${randomBytes(4).toString("hex")}`;
  const devVarsDatabase = `tenantry_devvars_${randomBytes(4).toString("hex")}`;
  let migrationUrl: string;
  let databaseUrl: string;
  let env: Record<string, string>;

  const owner = <T>(fn: Parameters<typeof withClient<T>>[1]) => withClient(migrationUrl, fn);
  const migrationCount = () =>
    owner(async (c) => (await c.query("select 1 from drizzle.__drizzle_migrations")).rowCount);
  const userByEmail = (email: string) =>
    owner(async (c) => {
      const { rows } = await c.query<{
        id: string;
        password_hash: string;
        is_system_admin: boolean;
        must_change_password: boolean;
        password_expires_at: Date | null;
      }>("select * from users where email_normalized = lower(normalize($1::text, NFKC))", [email]);
      return rows[0];
    });
  const auditRows = (userId: string) =>
    owner(
      async (c) =>
        (
          await c.query<{
            tenant_id: string | null;
            actor_type: string;
            action: string;
            target_type: string;
          }>(
            "select tenant_id, actor_type, action, target_type from audit_events where target_id = $1 order by created_at",
            [userId],
          )
        ).rows,
    );
  const adminCreate = (args: string[], input?: string) => run(ADMIN_CREATE, args, { env, input });

  beforeAll(async () => {
    postgres = await startPostgres({ dataDir: join(tmpdir(), `tenantry-bootstrap-${process.pid}`) });
    await withClient(postgres.adminUrl, async (c) => {
      await c.query(`create database "${database}"`);
      await c.query(`create database "${devVarsDatabase}"`);
    });
    migrationUrl = withDatabase(postgres.adminUrl, database);
    const runtime = new URL(migrationUrl);
    runtime.username = "tenantry_app";
    runtime.password = randomBytes(18).toString("base64url");
    databaseUrl = runtime.toString();
    env = { MIGRATION_DATABASE_URL: migrationUrl, DATABASE_URL: databaseUrl };
  });

  afterAll(async () => {
    await dropDatabase(postgres.adminUrl, database).catch(() => {});
    await dropDatabase(postgres.adminUrl, devVarsDatabase).catch(() => {});
    await postgres.stop();
  });

  it("db:migrate applies the schema and makes the runtime role; a second run changes nothing", async () => {
    const first = await run(MIGRATE, [], { env });
    expect(first.stderr).toBe("");
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/migrations +applied \d+: 0000_app_role, 0001_schema/);
    expect(first.stdout).toContain("runtime role  tenantry_app created");
    expect(first.stdout).toContain("LOGIN with the password in DATABASE_URL set");
    expect(first.stdout).toContain(`ENABLE + FORCE on all ${TENANT_TABLES} tenant tables`);
    expect(first.stdout).not.toContain(new URL(databaseUrl).password);
    const applied = await migrationCount();

    const role = () =>
      owner(async (c) => {
        const { rows } = await c.query(
          `select r.rolsuper, r.rolbypassrls, r.rolcanlogin, a.rolpassword,
                  (select count(*)::int from pg_tables where schemaname = 'public' and tableowner = r.rolname) as owned
             from pg_roles r join pg_authid a on a.oid = r.oid where r.rolname = 'tenantry_app'`,
        );
        return rows[0];
      });
    const after = await role();
    expect(after).toMatchObject({ rolsuper: false, rolbypassrls: false, rolcanlogin: true, owned: 0 });
    // A SCRAM verifier was sent, never the password itself.
    expect(after.rolpassword).toMatch(/^SCRAM-SHA-256\$4096:/);

    const second = await run(MIGRATE, [], { env });
    expect(second.code).toBe(0);
    expect(second.stdout).toContain("migrations    up to date");
    expect(second.stdout).toContain("password unchanged");
    expect(second.stdout).toContain("nothing to do: already up to date");
    expect(await migrationCount()).toBe(applied);
    expect((await role()).rolpassword).toBe(after.rolpassword);

    await withClient(databaseUrl, async (c) => {
      const who = await c.query<{ current_user: string }>("select current_user");
      expect(who.rows[0]?.current_user).toBe("tenantry_app");
    });
  });

  it("db:migrate refuses a DATABASE_URL that is the owner, or a runtime role with BYPASSRLS, and changes neither", async () => {
    const asOwner = await run(MIGRATE, [], { env: { ...env, DATABASE_URL: migrationUrl } });
    expect(asOwner.code).toBe(1);
    expect(asOwner.stderr).toMatch(
      /db:migrate refused: DATABASE_URL connects as postgres, the role MIGRATION_DATABASE_URL/,
    );

    const bypass = `bypass_${randomBytes(3).toString("hex")}`;
    await owner((c) => c.query(`create role ${bypass} login bypassrls password 'bypass-password'`));
    const url = new URL(migrationUrl);
    url.username = bypass;
    url.password = "another-password";
    const refused = await run(MIGRATE, [], { env: { ...env, DATABASE_URL: url.toString() } });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`${bypass} has BYPASSRLS`);
    const still = await owner(
      async (c) =>
        (await c.query("select rolbypassrls, rolcanlogin from pg_roles where rolname = $1", [bypass]))
          .rows[0],
    );
    expect(still).toEqual({ rolbypassrls: true, rolcanlogin: true });
  });

  it("both commands name the variables when neither the environment nor .dev.vars has them", async () => {
    const empty = await mkdtemp(join(tmpdir(), "tenantry-no-vars-"));
    try {
      const migrate = await run(MIGRATE, [], { cwd: empty });
      expect(migrate.code).toBe(1);
      expect(migrate.stderr).toContain(
        "MIGRATION_DATABASE_URL and DATABASE_URL are not set, and there is no",
      );
      const create = await run(ADMIN_CREATE, ["--email", "x@example.test", "--generate"], { cwd: empty });
      expect(create.code).toBe(1);
      expect(create.stderr).toContain("DATABASE_URL is not set, and there is no");
      const half = await run(MIGRATE, [], { cwd: empty, env: { DATABASE_URL: databaseUrl } });
      expect(half.stderr).toContain("MIGRATION_DATABASE_URL not set while DATABASE_URL is");
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });

  it("admin:create takes a password from stdin, never prints it, and the stored hash verifies", async () => {
    const email = "first-admin@example.test";
    const password = "correct horse battery staple 42";
    const created = await adminCreate(["--email", email], `${password}\n`);
    expect(created.code).toBe(0);
    expect(created.stdout).toContain(`Created system admin ${email}`);
    expect(created.stdout + created.stderr).not.toContain(password);
    const user = await userByEmail(email);
    expect(user).toMatchObject({
      is_system_admin: true,
      must_change_password: false,
      password_expires_at: null,
    });
    expect(argon2id.verify(user?.password_hash as string, password)).toBe(true);
    expect(argon2id.verify(user?.password_hash as string, "something else entirely")).toBe(false);
    expect(await auditRows(user?.id as string)).toEqual([
      { tenant_id: null, actor_type: "system", action: "user.system_admin_created", target_type: "user" },
    ]);

    const again = await adminCreate(["--email", email.toUpperCase()], `${password}\n`);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("is already a system admin: nothing changed");
    expect((await userByEmail(email))?.password_hash).toBe(user?.password_hash);
    expect(await auditRows(user?.id as string)).toHaveLength(1);
  });

  it("admin:create --generate prints a temporary password once, to be changed at first sign-in within 7 days", async () => {
    const email = "generated@example.test";
    const before = Date.now();
    const created = await adminCreate(["--email", email, "--generate"]);
    expect(created.code).toBe(0);
    const temporary = created.stdout.match(/^ {4}([0-9A-Za-z]{20})$/m)?.[1] as string;
    expect(temporary).toBeDefined();
    expect(created.stdout.split(temporary)).toHaveLength(2);
    expect(created.stderr).not.toContain(temporary);
    const user = await userByEmail(email);
    expect(user).toMatchObject({ is_system_admin: true, must_change_password: true });
    const expires = user?.password_expires_at?.getTime() as number;
    expect(expires).toBeGreaterThanOrEqual(before + TEMPORARY_PASSWORD_TTL_MS);
    expect(expires).toBeLessThanOrEqual(Date.now() + TEMPORARY_PASSWORD_TTL_MS);
    expect(argon2id.verify(user?.password_hash as string, temporary)).toBe(true);
    expect((await auditRows(user?.id as string)).map((r) => r.action)).toEqual(["user.system_admin_created"]);
  });

  it("admin:create promotes an existing user found by normalised email and keeps their password", async () => {
    const hash = argon2id.hash("the user's own password 9");
    const userId = await owner(async (c) => {
      const { rows } = await c.query<{ id: string }>(
        "insert into users (email, password_hash) values ('Ｂob@Example.test', $1) returning id",
        [hash],
      );
      return rows[0]?.id as string;
    });
    const promoted = await adminCreate(["--email", "bob@example.test", "--generate"]);
    expect(promoted.code).toBe(0);
    expect(promoted.stdout).toContain(`Promoted Ｂob@Example.test (user ${userId}) to system admin`);
    expect(promoted.stdout).not.toMatch(/Temporary password/);
    const user = await userByEmail("bob@example.test");
    expect(user).toMatchObject({
      id: userId,
      is_system_admin: true,
      must_change_password: false,
      password_hash: hash,
    });
    expect(await auditRows(userId)).toEqual([
      { tenant_id: null, actor_type: "system", action: "user.promoted_to_system_admin", target_type: "user" },
    ]);
  });

  it("admin:create refuses a password the policy rejects, or none at all, and creates nothing", async () => {
    const email = "weak@example.test";
    const common = await adminCreate(["--email", email], "1q2w3e4r5t6y\n");
    expect(common.code).toBe(1);
    expect(common.stderr).toContain("admin:create refused: the password does not meet the password policy");
    expect(common.stderr).toContain("Is one of the most common passwords");
    const short = await adminCreate(["--email", email], "short\n");
    expect(short.stderr).toContain("Must be 12–256 characters long");
    const none = await adminCreate(["--email", email], "");
    expect(none.code).toBe(1);
    expect(none.stderr).toContain("no password on stdin");
    expect(common.stdout + common.stderr + short.stdout + short.stderr).not.toMatch(/1q2w3e4r5t6y|short\n/);
    expect(await userByEmail(email)).toBeUndefined();
  });

  it("both commands read .dev.vars in their working directory, for a runtime role of another name", async () => {
    const cwd = await mkdtemp(join(tmpdir(), "tenantry-dev-vars-"));
    try {
      const ownerUrl = withDatabase(postgres.adminUrl, devVarsDatabase);
      const runtime = new URL(ownerUrl);
      runtime.username = `worker_${randomBytes(3).toString("hex")}`;
      runtime.password = `p@ss/${randomBytes(9).toString("base64url")}`;
      // As `npm run dev` writes it: JSON-quoted values.
      await writeFile(
        join(cwd, ".dev.vars"),
        `# Generated by npm run dev\nDATABASE_URL=${JSON.stringify(runtime.toString())}\nMIGRATION_DATABASE_URL=${JSON.stringify(ownerUrl)}\n`,
      );
      const migrated = await run(MIGRATE, [], { cwd });
      expect(migrated.stderr).toBe("");
      expect(migrated.code).toBe(0);
      expect(migrated.stdout).toContain(`from ${join(cwd, ".dev.vars")}`);
      expect(migrated.stdout).toContain(`${runtime.username} is now a member of tenantry_app`);
      expect((await run(MIGRATE, [], { cwd })).stdout).toContain("nothing to do");

      // The other name inherits tenantry_app's grants and is bound by its policies.
      await withClient(ownerUrl, (c) => c.query("insert into tenants (slug, name) values ('acme', 'Acme')"));
      await withClient(runtime.toString(), async (c) => {
        expect((await c.query("select * from tenants")).rowCount).toBe(0);
        const role = await c.query(
          "select rolbypassrls, rolsuper from pg_roles where rolname = current_user",
        );
        expect(role.rows[0]).toEqual({ rolbypassrls: false, rolsuper: false });
      });

      const created = await run(ADMIN_CREATE, ["--email", "ops@example.test", "--generate"], { cwd });
      expect(created.code).toBe(0);
      expect(created.stdout).toContain("Created system admin ops@example.test");
      const admins = await withClient(ownerUrl, async (c) => (await c.query("select email from users")).rows);
      expect(admins).toEqual([{ email: "ops@example.test" }]);
    } finally {
      await rm(cwd, { recursive: true, force: true });
    }
  });
});
