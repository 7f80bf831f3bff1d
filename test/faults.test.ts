import { env } from "cloudflare:workers";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { JOB_KINDS } from "../src/db/schema";
import worker from "../src/index";
import { MAX_ATTEMPTS } from "../src/jobs/policy";
import "../src/app";
import { ROUTE_TABLE } from "../src/routes/route-table";
import { pools } from "./support/db";
import {
  api,
  bearer,
  createTenant,
  createUser,
  jsonInit,
  type TestTenant,
  tenantWithRoles,
  tokenFor,
} from "./support/fixtures";
import { CLOSED_PORT, call } from "./support/http";
import { exampleBody, loadApi } from "./support/openapi";
import { expectProblem } from "./support/problems";
import { deliver, insertJob, jobRow, kube } from "./support/provisioner";

/**
 * Faults injected under the Worker, in workerd: a dead Postgres (every route), a dead
 * WebSocket proxy or SQL-over-HTTP endpoint, a dead Redis in both failure modes (no partial
 * writes), a dead, failing or hanging provisioner and Kubernetes API (jobs retry, then die,
 * with the reason recorded, while the API keeps serving), and redelivery of every job kind.
 * Killing Postgres mid-request is in test/stack/faults.test.ts.
 */
const dead = (url: string) => {
  const u = new URL(url);
  u.port = String(CLOSED_PORT);
  return u.toString();
};
const deadHostPort = () => `127.0.0.1:${CLOSED_PORT}`;
const ns = (t: { slug: string }) => `tenant-${t.slug}`;

describe("faults", () => {
  const db = pools();
  let faults = 0;
  let f: Awaited<ReturnType<typeof tenantWithRoles>>;
  let sys: Record<string, string>;

  beforeAll(async () => {
    f = await tenantWithRoles(db.admin, { plan: "enterprise" });
    const admin = await createUser(db.admin, { isSystemAdmin: true });
    sys = bearer(await tokenFor(admin, null, { isSystemAdmin: true }));
  });

  afterAll(async () => {
    console.info(`faults: ${faults} faults injected`);
    await db.end();
  });

  const keysOf = async (tenantId: string) =>
    (
      await db.admin.query<{ n: number }>("select count(*)::int as n from api_keys where tenant_id = $1", [
        tenantId,
      ])
    ).rows[0]?.n;

  describe("Postgres unreachable", () => {
    it("every route that needs the database answers 503 dependency_unavailable as problem+json", async () => {
      const doc = await loadApi();
      const overrides = { DATABASE_URL: dead(env.DATABASE_URL) };
      const failures: string[] = [];
      for (const entry of ROUTE_TABLE) {
        const op = doc.operations.find((o) => o.method === entry.method && o.path === entry.path);
        const path = entry.path.replace(/\{[^}]+\}/g, (p) =>
          p === "{id}" && entry.path.startsWith("/api/v1/tenants/") ? f.tenant.id : crypto.randomUUID(),
        );
        const headers: Record<string, string> =
          entry.access.kind === "system" ? sys : bearer(f.users.admin.token);
        const init: RequestInit = op?.body
          ? jsonInit(entry.method, exampleBody(doc, op.body), {
              ...headers,
              "cf-connecting-ip": "203.0.113.77",
            })
          : { method: entry.method, headers };
        faults += 1;
        const res = await call(worker, path, init, overrides);
        const text = await res.text();
        const dbFree = ["/health/live", "/openapi.json"].includes(entry.path);
        if (dbFree) {
          if (res.status !== 200) failures.push(`${entry.method} ${entry.path}: ${res.status}`);
        } else if (entry.path === "/health") {
          if (res.status !== 503) failures.push(`${entry.path}: ${res.status}`);
        } else if (res.status !== 503 || !text.includes('"code":"dependency_unavailable"')) {
          failures.push(`${entry.method} ${entry.path}: ${res.status} ${text.slice(0, 200)}`);
        }
      }
      expect(failures).toEqual([]);
    });

    it("with the WebSocket proxy down, reads and writes still answer: neither opens a WebSocket", async () => {
      const before = await keysOf(f.tenant.id);
      const overrides = { NEON_LOCAL_PROXY: deadHostPort() };
      faults += 1;
      const write = await call(
        worker,
        "/api/v1/api-keys",
        jsonInit("POST", { name: "pool-down", role: "viewer" }, bearer(f.users.admin.token)),
        overrides,
      );
      expect(write.status).toBe(201);
      const read = await call(worker, "/api/v1/members", { headers: bearer(f.users.admin.token) }, overrides);
      expect(read.status).toBe(200);
      expect(await keysOf(f.tenant.id)).toBe((before ?? 0) + 1);
    });

    it("with SQL-over-HTTP down a read is 503, and a write whose lookups fail writes nothing", async () => {
      // A tenant this isolate has never looked up: its guard must read over HTTP.
      const cold = await tenantWithRoles(db.admin);
      const overrides = { NEON_LOCAL_HTTP: `http://${deadHostPort()}/sql` };
      faults += 2;
      const read = await call(
        worker,
        "/api/v1/members",
        { headers: bearer(cold.users.admin.token) },
        overrides,
      );
      await expectProblem(read, 503, "dependency_unavailable");
      const write = await call(
        worker,
        "/api/v1/api-keys",
        jsonInit("POST", { name: "http-down", role: "viewer" }, bearer(cold.users.admin.token)),
        overrides,
      );
      await expectProblem(write, 503, "dependency_unavailable");
      expect(await keysOf(cold.tenant.id)).toBe(0);
      // The driver points back at the live endpoint on the next normal request.
      expect((await api("/api/v1/members", { headers: bearer(cold.users.admin.token) })).status).toBe(200);
    });
  });

  describe("Redis unreachable", () => {
    const create = (mode: string, name: string) =>
      call(
        worker,
        "/api/v1/api-keys",
        jsonInit("POST", { name, role: "viewer" }, bearer(f.users.admin.token)),
        { UPSTASH_REDIS_REST_URL: dead(env.UPSTASH_REDIS_REST_URL), RATE_LIMIT_FAILURE_MODE: mode },
      );

    it("fail closed: a create is 503 and writes nothing; fail open: it is written exactly once", async () => {
      const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
      try {
        const before = await keysOf(f.tenant.id);
        faults += 2;
        await expectProblem(await create("closed", "redis-closed"), 503, "dependency_unavailable");
        expect(await keysOf(f.tenant.id)).toBe(before);
        expect((await create("open", "redis-open")).status).toBe(201);
        expect(await keysOf(f.tenant.id)).toBe((before ?? 0) + 1);
      } finally {
        warn.mockRestore();
      }
    });
  });

  describe("provisioner and Kubernetes", () => {
    it("a dead provisioner: the job retries until dead while the API keeps serving, then a new job succeeds", async () => {
      const tenant = await createTenant(db.admin);
      const job = await insertJob(db.admin, tenant.id, "provision");
      for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
        faults += 1;
        const delivery = await deliver(job.id, {
          attempts: attempt,
          env: { PROVISIONER_URL: "http://127.0.0.1:1" },
        });
        expect(delivery.retried).toBe(true);
        const serving = await api(`/api/v1/tenants/${tenant.id}/provisioning`, { headers: sys });
        expect(serving.status).toBe(200);
      }
      const row = await jobRow(db.admin, job.id);
      expect(row).toMatchObject({ status: "dead", attempts: MAX_ATTEMPTS });
      expect(row?.last_error).toMatch(/^provisioner unreachable/);
      const again = await insertJob(db.admin, tenant.id, "provision");
      expect(await deliver(again.id)).toMatchObject({ acked: true });
      expect(await jobRow(db.admin, again.id)).toMatchObject({ status: "succeeded" });
    });

    for (const status of [409, 422, 500]) {
      it(`Kubernetes answers ${status}: the job fails with the reason recorded, and succeeds once healed`, async () => {
        const tenant = await createTenant(db.admin);
        const job = await insertJob(db.admin, tenant.id, "provision");
        await kube.fail(ns(tenant), { status });
        try {
          faults += 1;
          expect(await deliver(job.id)).toMatchObject({ retried: true });
          const row = await jobRow(db.admin, job.id);
          expect(row).toMatchObject({ status: "failed", attempts: 1 });
          expect(row?.last_error).toContain(String(status));
        } finally {
          await kube.heal(ns(tenant));
        }
        expect(await deliver(job.id, { attempts: 2 })).toMatchObject({ acked: true });
        expect(await jobRow(db.admin, job.id)).toMatchObject({ status: "succeeded", last_error: null });
      });
    }

    it("a hanging Kubernetes API: the provisioner gives up in time, the job fails with the reason and is retried", async () => {
      const tenant = await createTenant(db.admin);
      const job = await insertJob(db.admin, tenant.id, "provision");
      await kube.fail(ns(tenant), { hang: true });
      try {
        faults += 1;
        const delivery = deliver(job.id);
        // The API answers while the delivery hangs.
        expect((await api("/api/v1/members", { headers: bearer(f.users.viewer.token) })).status).toBe(200);
        expect(await delivery).toMatchObject({ retried: true });
        const row = await jobRow(db.admin, job.id);
        expect(row).toMatchObject({ status: "failed" });
        expect(row?.last_error).toMatch(/no answer from the Kubernetes API within \d+ ms/);
      } finally {
        await kube.heal(ns(tenant));
      }
    });
  });

  describe("queue redelivery", () => {
    async function tenantFor(kind: string): Promise<TestTenant> {
      const status = kind === "suspend" ? "suspended" : kind === "deprovision" ? "deleted" : "active";
      return createTenant(db.admin, { status });
    }

    for (const kind of JOB_KINDS.filter((k) => k !== "deprovision")) {
      it(`a redelivered ${kind} job changes nothing and calls nobody`, async () => {
        const tenant = await tenantFor(kind);
        if (kind !== "provision") await deliver((await insertJob(db.admin, tenant.id, "provision")).id);
        const job = await insertJob(db.admin, tenant.id, kind);
        expect(await deliver(job.id)).toMatchObject({ acked: true });
        const done = await jobRow(db.admin, job.id);
        expect(done?.status).toBe("succeeded");
        const requests = (await kube.requests(ns(tenant))).length;
        const objects = await kube.objects(ns(tenant));
        for (let attempt = 2; attempt <= 3; attempt++) {
          faults += 1;
          expect(await deliver(job.id, { attempts: attempt })).toMatchObject({ acked: true, retried: false });
        }
        expect(await jobRow(db.admin, job.id)).toEqual(done);
        expect(await kube.requests(ns(tenant))).toHaveLength(requests);
        expect(await kube.objects(ns(tenant))).toEqual(objects);
        expect(await kube.jobLog(job.id)).toHaveLength(1);
      });
    }

    it("a redelivered deprovision job deletes the namespace and purges the tenant once", async () => {
      const tenant = await createTenant(db.admin);
      await deliver((await insertJob(db.admin, tenant.id, "provision")).id);
      await db.admin.query(
        "update tenants set status = 'deleted', deleted_at = now() - interval '31 days' where id = $1",
        [tenant.id],
      );
      const job = await insertJob(db.admin, tenant.id, "deprovision");
      await deliver(job.id);
      faults += 1;
      await deliver(job.id, { attempts: 2 });
      const exists = async () =>
        (await db.admin.query("select 1 from tenants where id = $1", [tenant.id])).rows.length === 1;
      expect(await exists()).toBe(true);
      await kube.finishTermination(ns(tenant));
      expect(await deliver(job.id, { attempts: 3 })).toMatchObject({ acked: true });
      expect(await exists()).toBe(false);
      const deletes = (await kube.requests(ns(tenant))).filter((r) => r.method === "DELETE").length;
      faults += 1;
      expect(await deliver(job.id, { attempts: 4 })).toMatchObject({ acked: true, retried: false });
      expect((await kube.requests(ns(tenant))).filter((r) => r.method === "DELETE")).toHaveLength(deletes);
      const { rows } = await db.admin.query(
        "select 1 from audit_events where action = 'tenant.purged' and target_id = $1",
        [tenant.id],
      );
      expect(rows).toHaveLength(1);
    });
  });
});
