/// <reference types="vite/client" />
/**
 * Tenant moves between isolation tiers (src/moves/runner.ts), against the run's real Postgres:
 * a populated shared tenant goes to a dedicated database and back, with row counts and
 * digests compared at each end, and a move whose database never comes is given up with the
 * tenant unchanged and writable. The dedicated databases are made by a test provisioning:
 * CREATE DATABASE in the run's Postgres, migrated with the repository's drizzle/ files, as the
 * provisioner's local provider does.
 */

import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { Pool } from "@neondatabase/serverless";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { openDatabase, openHttp } from "../src/db/client";
import { WriteBatch } from "../src/db/write-batch";
import { loadConfig } from "../src/env";
import worker from "../src/index";
import { Problem } from "../src/lib/problem";
import type { DatabaseProvisioning } from "../src/moves/provisioning";
import { reconcileMoves } from "../src/moves/reconcile";
import { runMove } from "../src/moves/runner";
import { guardHome } from "../src/services/resources/tenant-resources";
import { requestMove } from "../src/services/tenancy/placement";
import { clearTenantCache } from "../src/services/tenancy/tenant-directory";
import { pools } from "./support/db";
import { api, bearer, jsonInit } from "./support/fixtures";
import { type PopulatedTenant, populateTenant, systemAdminHeaders } from "./support/populated-tenant";

const MIGRATIONS = import.meta.glob<string>("../drizzle/*.sql", {
  query: "?raw",
  import: "default",
  eager: true,
});
const FILLER_AUDIT_ROWS = 1_200;
const TENANT_TABLES = [
  "clusters",
  "plugins",
  "credentials",
  "audit_events",
  "idempotency_keys",
  "webhook_endpoints",
  "webhook_deliveries",
];

type Digest = Record<string, { rows: number; md5: string }>;

let db: ReturnType<typeof pools>;
const config = loadConfig(env);
const control = openDatabase(config);

beforeAll(() => {
  db = pools();
});
afterAll(async () => {
  await control.close();
  await db.end();
});

describe("moving a tenant between isolation tiers", () => {
  it("moves a shared tenant to a dedicated database and back, rows and digests equal", async () => {
    const provisioning = testProvisioning();
    const sys = await systemAdminHeaders(db.admin);
    const t = await populateTenant(sys, "mv", { plan: "enterprise" });
    await fillAuditTrail(db.admin, t.tenant.id, FILLER_AUDIT_ROWS);
    await deliveriesSettled(t.tenant.id);
    const secret = await reveal(t);
    const before = await digest(db.admin, t.tenant.id);
    const rowsBefore = totalRows(before);

    // To dedicated, in eu-central.
    const toDedicated = await requestAndRun(
      t.tenant.id,
      { isolation: "dedicated", region: "eu-central" },
      provisioning,
    );
    expect(toDedicated.disposition).toEqual({ settle: "ack", outcome: "succeeded" });
    const placed = await tenantRow(t.tenant.id);
    expect(placed).toMatchObject({ isolation: "dedicated", region: "eu-central", move_id: null });
    expect(placed.database_id).toBe(toDedicated.move.to_database_id);
    const dedicated = await provisionedPool(provisioning, t.tenant.id);
    expect(await digest(dedicated, t.tenant.id)).toEqual(before);
    const leftInControl = await digest(db.admin, t.tenant.id);
    for (const table of TENANT_TABLES) {
      // The control database keeps only the tenant.moved record the move wrote there.
      expect(leftInControl[table]?.rows, table).toBe(table === "audit_events" ? 1 : 0);
    }
    expect(toDedicated.move.report).toMatchObject({ rows_total: rowsBefore });
    for (const [table, counts] of Object.entries(before)) {
      expect((toDedicated.move.report as Report).tables[table]?.rows, table).toBe(counts.rows);
    }
    // An isolate that still believes the tenant lives in the control database is refused there.
    await expect(guardedWrite(openHttp(config), t.tenant.id, null)).rejects.toMatchObject({
      code: "tenant_moving",
    });
    // The sealed values arrived byte for byte (the digest); they are revealed once back in the
    // control database below. TODO(issue 22): reveal while dedicated answers 500 ("sealed secrets
    // but no data key"): revealCredential reads tenant_keys from the tenant's own database.
    console.log(
      `move to dedicated: ${rowsBefore} rows in ${toDedicated.ms} ms (copy ${(toDedicated.move.report as Report).copy_ms} ms), tables ${JSON.stringify(countsOf(before))}`,
    );

    // Back to shared.
    const ref = provisioning.refs.get(t.tenant.id) as string;
    await dedicated.end();
    const toShared = await requestAndRun(
      t.tenant.id,
      { isolation: "shared", region: config.CONTROL_REGION },
      provisioning,
    );
    expect(toShared.disposition).toEqual({ settle: "ack", outcome: "succeeded" });
    expect(await tenantRow(t.tenant.id)).toMatchObject({
      isolation: "shared",
      region: config.CONTROL_REGION,
      database_id: null,
      move_id: null,
    });
    // Everything is back, plus the two tenant.moved records of the control database.
    const after = await digest(db.admin, t.tenant.id, "tenant.moved");
    expect(after).toEqual(before);
    expect((await digest(db.admin, t.tenant.id)).audit_events?.rows).toBe(
      (before.audit_events?.rows ?? 0) + 2,
    );
    expect(provisioning.dropped).toContain(ref);
    const { rows: databases } = await db.admin.query<{ status: string }>(
      "select status from tenant_databases where tenant_id = $1",
      [t.tenant.id],
    );
    expect(databases.map((d) => d.status)).toEqual(["dropped"]);
    const { rows: exists } = await db.admin.query("select 1 from pg_database where datname = $1", [ref]);
    expect(exists).toHaveLength(0);
    clearTenantCache();
    expect(await reveal(t)).toBe(secret);
    console.log(
      `move back to shared: ${rowsBefore} rows in ${toShared.ms} ms (copy ${(toShared.move.report as Report).copy_ms} ms)`,
    );
  }, 120_000);

  it("refuses writes while the tenant is moving (the API and the write guard in SQL)", async () => {
    const sys = await systemAdminHeaders(db.admin);
    const t = await populateTenant(sys, "mvw", { plan: "enterprise" });
    const move = await request(t.tenant.id, { isolation: "dedicated", region: "eu-central" }, 60_000);
    await expect(guardedWrite(openHttp(config), t.tenant.id, null)).rejects.toMatchObject({
      code: "tenant_moving",
    });
    clearTenantCache();
    // Straight to the Worker: the OpenAPI document does not list tenant_moving for this 409 yet.
    const res = await fetchWorker("/api/v1/clusters", {
      ...jsonInit(
        "POST",
        { name: "during-move", api_server_url: "https://during.example.com:6443", region: "x" },
        bearer(t.admin.token),
      ),
      host: hostOf(t),
    });
    expect(res.status).toBe(409);
    expect(((await res.json()) as { code: string }).code).toBe("tenant_moving");
    // A second move is refused by the batch that asks for it.
    await expect(
      request(t.tenant.id, { isolation: "dedicated", region: "eu-central" }, 0),
    ).rejects.toMatchObject({
      code: "tenant_moving",
    });
    expect(move.status).toBe("pending");
  });

  it("gives a move up when its database never comes: dead, the tenant unchanged and writable", async () => {
    const failing: DatabaseProvisioning = {
      create: () => Promise.reject(new Error("provider down at postgres://owner:hunter2@db.internal/x")),
      drop: () => Promise.resolve(),
    };
    const sys = await systemAdminHeaders(db.admin);
    const t = await populateTenant(sys, "mvf", { plan: "enterprise" });
    const before = await digest(db.admin, t.tenant.id);
    const move = await request(t.tenant.id, { isolation: "dedicated", region: "eu-central" }, 0);
    const outcomes: string[] = [];
    for (let i = 0; i < 8; i++) {
      const disposition = await runMove(config, control, move.id, failing, { settleMs: 0 });
      outcomes.push(disposition.outcome);
    }
    expect(outcomes.slice(0, 7).every((o) => o === "failed")).toBe(true);
    expect(outcomes[7]).toBe("dead");
    const { rows } = await db.admin.query<{ status: string; attempts: number; last_error: string }>(
      "select status, attempts, last_error from tenant_moves where id = $1",
      [move.id],
    );
    expect(rows[0]).toMatchObject({ status: "dead", attempts: 8 });
    expect(rows[0]?.last_error).toContain("provider down");
    expect(rows[0]?.last_error).not.toContain("hunter2");
    expect(await tenantRow(t.tenant.id)).toMatchObject({
      isolation: "shared",
      database_id: null,
      move_id: null,
    });
    expect(await digest(db.admin, t.tenant.id)).toEqual(before);
    clearTenantCache();
    const res = await api("/api/v1/plugins", {
      ...jsonInit("POST", { name: "after-dead-move", version: "1.0.0", config: {} }, bearer(t.admin.token)),
      host: hostOf(t),
    });
    expect(res.status, await res.clone().text()).toBe(201);
    // A dead move is finished: running it again does nothing.
    expect(await runMove(config, control, move.id, failing)).toEqual({ settle: "ack", outcome: "dead" });
  });
});

describe("the move's queue and reconciler", () => {
  it("runs a {moveId} message from the provisioning queue: a move not yet due comes back at copy_after", async () => {
    const sys = await systemAdminHeaders(db.admin);
    const t = await populateTenant(sys, "mvq", { plan: "enterprise" });
    const move = await request(t.tenant.id, { isolation: "dedicated", region: "eu-central" }, 60_000);
    const batch = createMessageBatch("tenantry-provisioning", [
      { id: `move-${move.id}`, timestamp: new Date(), attempts: 1, body: { moveId: move.id } },
    ]);
    const retry = vi.spyOn(batch.messages[0] as Message, "retry");
    const ctx = createExecutionContext();
    await worker.queue(batch as MessageBatch<{ moveId: string }>, env, ctx);
    const result = await getQueueResult(batch, ctx);
    expect(result.retryMessages).toHaveLength(1);
    const delay = retry.mock.calls[0]?.[0]?.delaySeconds ?? 0;
    expect(delay).toBeGreaterThan(50);
    expect(delay).toBeLessThanOrEqual(60);
    await cancel(move.id, t.tenant.id);
  });

  it("resends a move whose message was lost, and touches it so the next run does not", async () => {
    const sys = await systemAdminHeaders(db.admin);
    const t = await populateTenant(sys, "mvr", { plan: "enterprise" });
    const move = await request(t.tenant.id, { isolation: "dedicated", region: "eu-central" }, 0);
    await db.admin.query("update tenant_moves set updated_at = now() - interval '10 minutes' where id = $1", [
      move.id,
    ]);
    const first = await reconcileMoves(openHttp(config), { now: Date.now(), batchSize: 1000 });
    expect(first.map((m) => m.id)).toContain(move.id);
    const second = await reconcileMoves(openHttp(config), { now: Date.now(), batchSize: 1000 });
    expect(second.map((m) => m.id)).not.toContain(move.id);
    await cancel(move.id, t.tenant.id);
  });
});

/** Ends a move a test left pending, so no other run picks it up. */
async function cancel(moveId: string, tenantId: string): Promise<void> {
  await db.admin.query("update tenant_moves set status = 'dead', last_error = 'test' where id = $1", [
    moveId,
  ]);
  await db.admin.query("update tenants set move_id = null where id = $1", [tenantId]);
}

/** A plugin written through the write guard, as a request that believes `databaseId` is home would. */
async function guardedWrite(http: ReturnType<typeof openHttp>, tenantId: string, databaseId: string | null) {
  const batch = new WriteBatch(http, { tenantId });
  guardHome(batch, { id: tenantId, databaseId });
  batch.do(
    sql`insert into plugins (tenant_id, name, version, config) values (${tenantId}, ${`guarded-${crypto.randomUUID()}`}, '1.0.0', '{}')`,
  );
  try {
    await batch.run();
  } catch (err) {
    if (err instanceof Problem) throw { code: err.code };
    throw err;
  }
}

const hostOf = (t: PopulatedTenant) => `${t.tenant.slug}.${env.BASE_DOMAIN}`;

function fetchWorker(path: string, init: RequestInit & { host: string }): Promise<Response> {
  const { host, ...rest } = init;
  return exports.default.fetch(new Request(`http://${host}${path}`, rest));
}

/** The populated tenant's test event has reached its endpoint (the sender writes its outcome). */
async function deliveriesSettled(tenantId: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const { rows } = await db.admin.query(
      "select 1 from webhook_deliveries where tenant_id = $1 and status not in ('delivered', 'dead')",
      [tenantId],
    );
    if (rows.length === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error("the tenant's webhook deliveries did not settle");
}

interface Report {
  tables: Record<string, { rows: number; sha256: string }>;
  rows_total: number;
  copy_ms: number;
}

type Target = { isolation: "shared" | "dedicated"; region: string };

/** Asks for the move in a batch of its own, as the move route does. */
async function request(tenantId: string, target: Target, settleMs: number) {
  const { isolation, database_id } = await tenantRow(tenantId);
  const batch = new WriteBatch(openHttp(config), { system: true });
  const move = requestMove(
    batch,
    { id: tenantId, isolation: isolation as Target["isolation"], databaseId: database_id },
    target,
    { now: new Date(), settleMs },
  );
  try {
    await batch.run();
  } catch (err) {
    if (err instanceof Problem) throw { code: err.code };
    throw err;
  }
  return move;
}

async function requestAndRun(tenantId: string, target: Target, provisioning: DatabaseProvisioning) {
  const move = await request(tenantId, target, 0);
  const started = Date.now();
  const disposition = await runMove(config, control, move.id, provisioning, { settleMs: 0 });
  const ms = Date.now() - started;
  const { rows } = await db.admin.query("select * from tenant_moves where id = $1", [move.id]);
  return { disposition, ms, move: rows[0] as { to_database_id: string; report: unknown; status: string } };
}

async function tenantRow(tenantId: string) {
  const { rows } = await db.admin.query(
    "select isolation, region, database_id, move_id from tenants where id = $1",
    [tenantId],
  );
  return rows[0] as { isolation: string; region: string; database_id: string | null; move_id: string | null };
}

/** `tenantry_tenant_digest`, or with `withoutAction` the same over audit records of other actions. */
async function digest(pool: Pool, tenantId: string, withoutAction?: string): Promise<Digest> {
  const client = await pool.connect();
  try {
    await client.query("begin");
    if (withoutAction) {
      // The digest reads through the tenant's tables; hide the records a move writes itself.
      // A temporary view comes first on the search path and shadows the table.
      await client.query(
        `create temp view audit_events as select * from public.audit_events where action <> '${withoutAction}'`,
      );
    }
    const { rows } = await client.query<{ d: Digest }>("select tenantry_tenant_digest($1) as d", [tenantId]);
    await client.query("rollback");
    return rows[0]?.d as Digest;
  } finally {
    client.release();
  }
}

const totalRows = (d: Digest) => Object.values(d).reduce((sum, t) => sum + t.rows, 0);
const countsOf = (d: Digest) => Object.fromEntries(Object.entries(d).map(([table, t]) => [table, t.rows]));

async function reveal(t: PopulatedTenant): Promise<string> {
  const res = await api(`/api/v1/credentials/${t.credentialId}/reveal`, {
    method: "POST",
    headers: bearer(t.admin.token),
    host: hostOf(t),
  });
  expect(res.status, await res.clone().text()).toBe(200);
  return ((await res.json()) as { value: string }).value;
}

/** Audit records enough to take several copy pages, written without webhook events. */
async function fillAuditTrail(pool: Pool, tenantId: string, rows: number): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query("begin");
    await client.query("select set_config('app.copying', 'on', true)");
    await client.query(
      `insert into audit_events (tenant_id, actor_type, action, meta)
       select $1, 'system', 'test.filler', jsonb_build_object('n', n) from generate_series(1, $2) n`,
      [tenantId, rows],
    );
    await client.query("commit");
  } finally {
    client.release();
  }
}

/**
 * Dedicated databases in the run's Postgres: created by the owner and migrated with drizzle/'s
 * statements in order; the runtime role (cluster-wide) connects to them like to the control one.
 */
function testProvisioning(): DatabaseProvisioning & { refs: Map<string, string>; dropped: string[] } {
  const refs = new Map<string, string>();
  const dropped: string[] = [];
  return {
    refs,
    dropped,
    async create(tenantId, region) {
      const ref = `tenantry_t_${tenantId.replaceAll("-", "")}`;
      const { rows } = await db.admin.query("select 1 from pg_database where datname = $1", [ref]);
      if (rows.length === 0) {
        await db.admin.query(`create database ${ref}`);
        const pool = new Pool({ connectionString: withDatabase(env.TEST_ADMIN_DATABASE_URL, ref), max: 1 });
        pool.on("error", () => {});
        try {
          for (const file of Object.keys(MIGRATIONS).sort()) {
            for (const statement of (MIGRATIONS[file] as string).split("--> statement-breakpoint")) {
              if (statement.trim()) await pool.query(statement);
            }
          }
        } finally {
          await pool.end();
        }
      }
      refs.set(tenantId, ref);
      return { provider: "local", ref, region, connectionString: withDatabase(env.DATABASE_URL, ref) };
    },
    async drop(_tenantId, ref) {
      await db.admin.query(`drop database if exists ${ref} with (force)`);
      dropped.push(ref);
    },
  };
}

async function provisionedPool(provisioning: { refs: Map<string, string> }, tenantId: string): Promise<Pool> {
  const pool = new Pool({
    connectionString: withDatabase(env.TEST_ADMIN_DATABASE_URL, provisioning.refs.get(tenantId) as string),
    max: 1,
  });
  pool.on("error", () => {});
  return pool;
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}
