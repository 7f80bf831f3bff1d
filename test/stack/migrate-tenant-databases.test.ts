/**
 * `npm run db:migrate` across databases: after the control database, every dedicated tenant
 * database `tenant_databases` lists as ready or retired is migrated as its owner, one failure
 * does not stop the others, and the command names what failed and exits 1.
 */
import { spawn } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type PreparedDatabase, prepareDatabase, withClient } from "../../dev/migrate";
import { migrateTenantDatabases } from "../../dev/migrate-tenant-databases";
import { type PostgresService, startPostgres } from "../../dev/servers/postgres";
import { localDatabaseName } from "../../provisioner/src/databases/local";
import { withDatabase } from "../../provisioner/src/databases/migrate-database";
import { sealConnection } from "../../src/databases/sealed-connection";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const TSX = createRequire(import.meta.url).resolve("tsx/cli");
const MASTER_KEY = randomBytes(32).toString("base64");

describe("db:migrate across dedicated databases", () => {
  let postgres: PostgresService;
  let control: PreparedDatabase;
  let journalSize: number;
  const healthy = { tenantId: randomUUID(), databaseId: randomUUID() };
  const broken = { tenantId: randomUUID(), databaseId: randomUUID() };
  const dropped = { tenantId: randomUUID(), databaseId: randomUUID() };

  /** A tenant and its `tenant_databases` row, the connection string sealed as the Worker seals it. */
  const register = async (owner: { tenantId: string; databaseId: string }, status: string) => {
    const ref = localDatabaseName(owner.tenantId);
    const sealed = await sealConnection(MASTER_KEY, owner, withDatabase(control.appUrl, ref));
    await withClient(control.adminUrl, async (client) => {
      await client.query("begin");
      await client.query("select set_config('app.scope', 'system', true)");
      await client.query("insert into tenants (id, slug, name, plan) values ($1, $2, 'T', 'enterprise')", [
        owner.tenantId,
        `t-${owner.tenantId.slice(0, 8)}`,
      ]);
      await client.query(
        `insert into tenant_databases (id, tenant_id, provider, ref, region, connection_sealed, status)
         values ($1, $2, 'local', $3, 'eu-central', $4, $5)`,
        [owner.databaseId, owner.tenantId, ref, sealed, status],
      );
      await client.query("commit");
    });
    return ref;
  };

  const runCli = (env: Record<string, string>) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const { DATABASE_URL: _a, MIGRATION_DATABASE_URL: _b, MASTER_KEY: _c, ...inherited } = process.env;
      const child = spawn(process.execPath, [TSX, join(ROOT, "dev", "migrate.ts")], {
        cwd: ROOT,
        env: { ...inherited, ...env },
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
    });

  beforeAll(async () => {
    postgres = await startPostgres({ dataDir: join(tmpdir(), `tenantry-migrate-tenants-${process.pid}`) });
    control = await prepareDatabase({
      serverUrl: postgres.adminUrl,
      database: `tenantry_control_${randomBytes(4).toString("hex")}`,
      appPassword: `app-${randomBytes(8).toString("hex")}`,
    });
    journalSize = await withClient(control.adminUrl, async (client) => {
      const { rows } = await client.query<{ n: number }>(
        "select count(*)::int as n from drizzle.__drizzle_migrations",
      );
      return rows[0]?.n ?? 0;
    });
    // Empty databases, as if made before the latest migrations; the broken one is dropped
    // behind the control database's back, the dropped one is recorded as dropped.
    for (const owner of [healthy, broken]) {
      const ref = await register(owner, "ready");
      await withClient(postgres.adminUrl, (client) => client.query(`create database "${ref}"`));
    }
    await withClient(postgres.adminUrl, (client) =>
      client.query(`drop database "${localDatabaseName(broken.tenantId)}"`),
    );
    await register(dropped, "dropped");
  });

  afterAll(() => postgres?.stop());

  it("migrates each listed database, reports the one that failed and keeps going", async () => {
    const outcomes = await migrateTenantDatabases({
      migrationUrl: control.adminUrl,
      masterKey: MASTER_KEY,
      neon: undefined,
    });
    expect(outcomes.map((o) => o.tenantId).sort()).toEqual([healthy.tenantId, broken.tenantId].sort());
    expect(outcomes.find((o) => o.tenantId === healthy.tenantId)).toMatchObject({
      ok: true,
      applied: journalSize,
      total: journalSize,
    });
    expect(outcomes.find((o) => o.tenantId === broken.tenantId)).toMatchObject({
      ok: false,
      error: expect.stringContaining("does not exist"),
    });
    // Migrated for real: the runtime role logs in to it and RLS holds there.
    const moves = await withClient(
      withDatabase(control.appUrl, localDatabaseName(healthy.tenantId)),
      (client) => client.query("select count(*)::int as n from tenant_moves"),
    );
    expect(moves.rows[0]).toEqual({ n: 0 });
  });

  it("reports a database it cannot open without MASTER_KEY as failed", async () => {
    const outcomes = await migrateTenantDatabases({
      migrationUrl: control.adminUrl,
      masterKey: undefined,
      neon: undefined,
    });
    expect(outcomes.every((o) => !o.ok && /MASTER_KEY/.test(o.error))).toBe(true);
  });

  it("npm run db:migrate prints one line per database and exits 1 naming the failure; a rerun applies nothing", async () => {
    const env = { MIGRATION_DATABASE_URL: control.adminUrl, DATABASE_URL: control.appUrl, MASTER_KEY };
    const { code, stdout, stderr } = await runCli(env);
    expect(code).toBe(1);
    expect(stdout).toContain("dedicated databases: 2");
    expect(stdout).toContain(
      `tenant ${healthy.tenantId} local:${localDatabaseName(healthy.tenantId)} applied 0, total ${journalSize}`,
    );
    expect(stdout).toMatch(
      new RegExp(
        `tenant ${broken.tenantId} local:${localDatabaseName(broken.tenantId)} failed: .*does not exist`,
      ),
    );
    expect(stdout).not.toContain(dropped.tenantId);
    expect(stderr).toContain(`failed for 1 of 2 dedicated databases: tenant ${broken.tenantId}`);
    expect(stdout + stderr).not.toContain(new URL(control.appUrl).password);
  });
});
