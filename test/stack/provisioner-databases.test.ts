/**
 * The provisioner's dedicated databases (`POST /v1/databases`, `DELETE /v1/databases/{ref}`)
 * through the Worker's client: locally against a real Postgres (created, migrated, bound by
 * RLS, idempotent), on Neon against the strict fake Neon API, and the refusals.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CREATE_DATABASE_KIND, DROP_DATABASE_KIND } from "@tenantry/contract";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeNeonApi, startFakeNeonApi } from "../../dev/servers/fake-neon-api";
import { type PostgresService, startPostgres } from "../../dev/servers/postgres";
import { createProvisionerApp } from "../../provisioner/src/app";
import { localDatabaseName } from "../../provisioner/src/databases/local";
import { withClient, withDatabase } from "../../provisioner/src/databases/migrate-database";
import { neonDatabases, neonRuntimePassword } from "../../provisioner/src/databases/neon";
import { serializedPerTenant } from "../../provisioner/src/databases/tenant-databases";
import { createMetrics } from "../../provisioner/src/metrics";
import { ReplayCache } from "../../provisioner/src/replay-cache";
import { type RunningProvisioner, startProvisioner } from "../../provisioner/src/server";
import { DEFAULT_NEON_REGIONS, NeonApi } from "../../src/databases/neon-api";
import { signDatabaseToken } from "../../src/jobs/job-token";
import { createTenantDatabase, dropTenantDatabase } from "../../src/jobs/provisioner-client";

const SECRET = randomBytes(32).toString("base64url");
const RUNTIME_PASSWORD = `runtime-${randomBytes(12).toString("hex")}`;

/** A signed request as the Worker's client makes it, with parts a test may replace. */
async function signedRequest(
  url: string,
  opts: {
    method: "POST" | "DELETE";
    path: string;
    kind: string;
    tenantId: string;
    body: unknown;
    secret?: string;
  },
): Promise<Request> {
  const body = JSON.stringify(opts.body);
  const token = await signDatabaseToken(
    opts.secret ?? SECRET,
    { kind: opts.kind, tenantId: opts.tenantId },
    body,
  );
  return new Request(`${url}${opts.path}`, {
    method: opts.method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body,
  });
}

describe("dedicated databases, local provider", () => {
  let postgres: PostgresService;
  let provisioner: RunningProvisioner;
  let runtimeUrl: string;
  const logLines: string[] = [];
  const config = () => ({ PROVISIONER_URL: provisioner.url, PROVISIONER_SECRET: SECRET });

  const databasesOf = (tenantId: string) =>
    withClient(postgres.adminUrl, async (client) => {
      const { rows } = await client.query<{ datname: string }>(
        "select datname from pg_database where datname = $1",
        [localDatabaseName(tenantId)],
      );
      return rows.map((row) => row.datname);
    });

  beforeAll(async () => {
    postgres = await startPostgres({ dataDir: join(tmpdir(), `tenantry-provisioner-dbs-${process.pid}`) });
    const url = new URL(withDatabase(postgres.adminUrl, "postgres"));
    url.username = "tenantry_app";
    url.password = RUNTIME_PASSWORD;
    runtimeUrl = url.toString();
    provisioner = await startProvisioner({
      port: 0,
      secret: SECRET,
      dryRun: true,
      databases: { provider: "local", adminUrl: postgres.adminUrl, runtimeUrl },
      log: (line) => logLines.push(JSON.stringify(line)),
    });
  });

  afterAll(async () => {
    await provisioner?.stop();
    await postgres?.stop();
  });

  it("creates the tenant's database, migrated, with a runtime connection string that RLS binds", async () => {
    const tenantId = randomUUID();
    const outcome = await createTenantDatabase(config(), { tenantId, region: "eu-central" });
    expect(outcome).toEqual({
      ok: true,
      database: {
        provider: "local",
        ref: localDatabaseName(tenantId),
        region: "eu-central",
        connection_string: withDatabase(runtimeUrl, localDatabaseName(tenantId)),
      },
    });
    if (!outcome.ok) return;

    const seen = await withClient(outcome.database.connection_string, async (client) => {
      const { rows } = await client.query<{
        role: string;
        database: string;
        rolsuper: boolean;
        rolbypassrls: boolean;
        moves: string | null;
        forced: boolean;
      }>(
        `select current_user as role, current_database() as database, r.rolsuper, r.rolbypassrls,
                to_regclass('public.tenant_moves')::text as moves,
                (select relforcerowsecurity from pg_class where oid = 'public.clusters'::regclass) as forced
           from pg_roles r where r.rolname = current_user`,
      );
      // Bound by RLS: with no tenant set, the runtime role sees no tenant's rows.
      const visible = await client.query<{ n: number }>("select count(*)::int as n from tenant_moves");
      return { ...rows[0], visibleMoves: visible.rows[0]?.n };
    });
    expect(seen).toEqual({
      role: "tenantry_app",
      database: localDatabaseName(tenantId),
      rolsuper: false,
      rolbypassrls: false,
      moves: "tenant_moves",
      forced: true,
      visibleMoves: 0,
    });
  });

  it("answers the same database when asked again for the same tenant, and makes no second one", async () => {
    const tenantId = randomUUID();
    const first = await createTenantDatabase(config(), { tenantId, region: "us-east" });
    const [second, third] = await Promise.all([
      createTenantDatabase(config(), { tenantId, region: "us-east" }),
      createTenantDatabase(config(), { tenantId, region: "us-east" }),
    ]);
    expect(first.ok).toBe(true);
    expect(second).toEqual(first);
    expect(third).toEqual(first);
    expect(await databasesOf(tenantId)).toEqual([localDatabaseName(tenantId)]);
  });

  it("drops the database, then answers gone", async () => {
    const tenantId = randomUUID();
    const created = await createTenantDatabase(config(), { tenantId, region: "us-east" });
    if (!created.ok) throw new Error(created.error);
    const { ref } = created.database;

    expect(await dropTenantDatabase(config(), { tenantId, ref })).toEqual({
      ok: true,
      database: { ref, status: "dropped" },
    });
    expect(await databasesOf(tenantId)).toEqual([]);
    expect(await dropTenantDatabase(config(), { tenantId, ref })).toEqual({
      ok: true,
      database: { ref, status: "gone" },
    });
  });

  it("refuses to drop another tenant's database (409)", async () => {
    const owner = randomUUID();
    const created = await createTenantDatabase(config(), { tenantId: owner, region: "us-east" });
    if (!created.ok) throw new Error(created.error);

    const outcome = await dropTenantDatabase(config(), { tenantId: randomUUID(), ref: created.database.ref });
    expect(outcome).toMatchObject({ ok: false, status: 409 });
    expect(await databasesOf(owner)).toEqual([created.database.ref]);
  });

  it("refuses a token signed with another secret (401)", async () => {
    const outcome = await createTenantDatabase(
      { PROVISIONER_URL: provisioner.url, PROVISIONER_SECRET: randomBytes(32).toString("base64url") },
      { tenantId: randomUUID(), region: "us-east" },
    );
    expect(outcome).toMatchObject({ ok: false, status: 401 });
  });

  it("refuses a token issued for another kind, another tenant, or used twice (401)", async () => {
    const tenantId = randomUUID();
    const create = {
      method: "POST",
      path: "/v1/databases",
      tenantId,
      body: { tenant_id: tenantId, region: "us-east" },
    } as const;
    const wrongKind = await fetch(
      await signedRequest(provisioner.url, { ...create, kind: DROP_DATABASE_KIND }),
    );
    expect(wrongKind.status).toBe(401);
    const wrongTenant = await fetch(
      await signedRequest(provisioner.url, { ...create, kind: CREATE_DATABASE_KIND, tenantId: randomUUID() }),
    );
    expect(wrongTenant.status).toBe(401);

    const request = await signedRequest(provisioner.url, { ...create, kind: CREATE_DATABASE_KIND });
    expect((await fetch(request.clone())).status).toBe(200);
    const replay = await fetch(request);
    expect(replay.status).toBe(401);
    expect(replay.headers.get("content-type")).toBe("application/problem+json");
    expect(await replay.json()).toMatchObject({ code: "invalid_token" });
  });

  it("refuses a DELETE whose body names another ref than its path (400)", async () => {
    const tenantId = randomUUID();
    const ref = localDatabaseName(tenantId);
    const res = await fetch(
      await signedRequest(provisioner.url, {
        method: "DELETE",
        path: `/v1/databases/${localDatabaseName(randomUUID())}`,
        kind: DROP_DATABASE_KIND,
        tenantId,
        body: { tenant_id: tenantId, ref },
      }),
    );
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: "validation_failed" });
  });

  it("keeps connection strings and passwords out of its log lines", async () => {
    const tenantId = randomUUID();
    const created = await createTenantDatabase(config(), { tenantId, region: "us-east" });
    if (!created.ok) throw new Error(created.error);
    const lines = logLines.filter((line) => line.includes(tenantId));
    expect(lines.length).toBeGreaterThan(0);
    for (const line of logLines) {
      expect(line).not.toContain(RUNTIME_PASSWORD);
      expect(line).not.toContain(new URL(postgres.adminUrl).password);
      expect(line).not.toMatch(/postgres(ql)?:\/\//);
    }
  });
});

describe("dedicated databases, no provider", () => {
  let provisioner: RunningProvisioner;

  beforeAll(async () => {
    provisioner = await startProvisioner({ port: 0, secret: SECRET, dryRun: true, log: () => {} });
  });
  afterAll(() => provisioner?.stop());

  it("answers 503 databases_unavailable, after checking the token", async () => {
    const tenantId = randomUUID();
    const outcome = await createTenantDatabase(
      { PROVISIONER_URL: provisioner.url, PROVISIONER_SECRET: SECRET },
      { tenantId, region: "us-east" },
    );
    expect(outcome).toMatchObject({
      ok: false,
      status: 503,
      error: expect.stringContaining("DATABASE_PROVIDER=none"),
    });

    const res = await fetch(
      await signedRequest(provisioner.url, {
        method: "DELETE",
        path: `/v1/databases/${localDatabaseName(tenantId)}`,
        kind: DROP_DATABASE_KIND,
        tenantId,
        body: { tenant_id: tenantId, ref: localDatabaseName(tenantId) },
      }),
    );
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ code: "databases_unavailable" });

    const unsigned = await fetch(`${provisioner.url}/v1/databases`, { method: "POST", body: "{}" });
    expect(unsigned.status).toBe(401);
  });
});

describe("dedicated databases, Neon provider (strict fake Neon API)", () => {
  const API_KEY = `neon-${randomBytes(16).toString("hex")}`;
  const PASSWORD_KEY = randomBytes(32).toString("base64url");
  const BASE = "http://provisioner.test";
  let fake: FakeNeonApi;
  let app: ReturnType<typeof createProvisionerApp>;
  const logLines: string[] = [];
  /** No Postgres sits behind the fake's hosts: the migration step is recorded instead. */
  const migrations: { migrationUrl: string; databaseUrl: string }[] = [];

  const send = async (opts: Parameters<typeof signedRequest>[1]) => {
    const res = await app.fetch(await signedRequest(BASE, opts));
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const create = (tenantId: string, region: string) =>
    send({
      method: "POST",
      path: "/v1/databases",
      kind: CREATE_DATABASE_KIND,
      tenantId,
      body: { tenant_id: tenantId, region },
    });
  const drop = (tenantId: string, ref: string) =>
    send({
      method: "DELETE",
      path: `/v1/databases/${ref}`,
      kind: DROP_DATABASE_KIND,
      tenantId,
      body: { tenant_id: tenantId, ref },
    });
  const projectsOf = (tenantId: string) => fake.projects().filter((p) => p.name === `tenantry-${tenantId}`);

  beforeAll(async () => {
    fake = await startFakeNeonApi({ apiKey: API_KEY, regions: Object.values(DEFAULT_NEON_REGIONS) });
    const databases = neonDatabases({
      api: new NeonApi({ apiKey: API_KEY, baseUrl: fake.url }),
      regions: DEFAULT_NEON_REGIONS,
      passwordKey: PASSWORD_KEY,
      wait: { timeoutMs: 5_000, pollMs: 10 },
      migrate: async (opts) => {
        migrations.push(opts);
        return {
          owner: "neondb_owner",
          applied: [],
          total: 0,
          runtimeRole: "tenantry_app",
          roleCreated: false,
          grantedAppRole: false,
          loginSet: false,
          rlsTables: [],
        };
      },
    });
    app = createProvisionerApp({
      secret: SECRET,
      kube: undefined,
      timeoutMs: 2_000,
      metrics: createMetrics(),
      log: (line) => logLines.push(JSON.stringify(line)),
      replayCache: new ReplayCache(1_000),
      version: "test",
      databases: serializedPerTenant(databases),
    });
  });
  afterAll(() => fake?.stop());

  it("creates a project named for the tenant in the mapped Neon region, migrated as its owner", async () => {
    const tenantId = randomUUID();
    const { status, body } = await create(tenantId, "eu-central");
    expect(status).toBe(200);

    const [project] = projectsOf(tenantId);
    expect(project).toMatchObject({ region_id: "aws-eu-central-1" });
    if (!project) return;
    expect(body).toMatchObject({ provider: "neon", ref: project.id, region: "eu-central" });

    const runtime = new URL(body.connection_string as string);
    expect(runtime.username).toBe("tenantry_app");
    expect(decodeURIComponent(runtime.password)).toBe(neonRuntimePassword(PASSWORD_KEY, project.id));
    expect(runtime.hostname).toBe(`${project.endpointId}-pooler.eu-central-1.aws.neon.tech`);
    expect(runtime.pathname).toBe("/neondb");

    const migration = migrations.find((m) => m.databaseUrl === body.connection_string);
    const owner = new URL(migration?.migrationUrl ?? "postgres://none");
    expect(owner.username).toBe("neondb_owner");
    expect(owner.hostname).toBe(`${project.endpointId}.eu-central-1.aws.neon.tech`);
  });

  it("answers the same project and connection string again, and creates no second project", async () => {
    const tenantId = randomUUID();
    const first = await create(tenantId, "us-east");
    const second = await create(tenantId, "us-east");
    expect(second).toEqual(first);
    expect(projectsOf(tenantId)).toHaveLength(1);
  });

  it("refuses a region without a mapping (400) and another region than the project's (409)", async () => {
    const tenantId = randomUUID();
    expect(await create(tenantId, "mars-north")).toMatchObject({
      status: 400,
      body: { code: "validation_failed", errors: [{ path: "region", code: "unknown_region" }] },
    });
    expect((await create(tenantId, "us-east")).status).toBe(200);
    expect(await create(tenantId, "eu-central")).toMatchObject({ status: 409, body: { code: "conflict" } });
    expect(projectsOf(tenantId)).toHaveLength(1);
  });

  it("deletes the project, then answers gone; never another tenant's project", async () => {
    const tenantId = randomUUID();
    const created = await create(tenantId, "us-east");
    const ref = created.body.ref as string;

    expect(await drop(randomUUID(), ref)).toMatchObject({ status: 409, body: { code: "conflict" } });
    expect(await drop(tenantId, ref)).toEqual({ status: 200, body: { ref, status: "dropped" } });
    expect(projectsOf(tenantId)).toEqual([]);
    expect(await drop(tenantId, ref)).toEqual({ status: 200, body: { ref, status: "gone" } });
  });

  it("answers 503 database_provider_unavailable when the Neon API fails, without its key or a stack", async () => {
    const tenantId = randomUUID();
    fake.failNext(500, { message: `upstream broke (key ${API_KEY})` });
    const { status, body } = await create(tenantId, "us-east");
    expect(status).toBe(503);
    expect(body).toMatchObject({ code: "database_provider_unavailable" });
    expect(JSON.stringify(body)).not.toContain(API_KEY);
    expect(JSON.stringify(body)).not.toMatch(/\n\s+at /);
    expect(projectsOf(tenantId)).toEqual([]);
  });

  it("keeps connection strings, passwords and the API key out of its log lines", () => {
    expect(logLines.length).toBeGreaterThan(0);
    for (const line of logLines) {
      expect(line).not.toContain(API_KEY);
      expect(line).not.toContain(PASSWORD_KEY);
      expect(line).not.toMatch(/postgres(ql)?:\/\//);
      for (const project of fake.projects()) {
        expect(line).not.toContain(neonRuntimePassword(PASSWORD_KEY, project.id));
        expect(line).not.toContain(project.password);
      }
    }
  });
});
