import { env } from "cloudflare:workers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../src/env";
import worker from "../src/index";
import { configWarnings } from "../src/services/platform/config-warnings";
import type { SystemStatus } from "../src/services/platform/system-status";
import { pools } from "./support/db";
import { api, bearer, createTenant, jsonInit, tenantWithRoles } from "./support/fixtures";
import { CLOSED_PORT, call } from "./support/http";
import { systemAdminHeaders } from "./support/populated-tenant";
import { expectProblem } from "./support/problems";
import { dryRunProvisionerUrl, insertJob } from "./support/provisioner";

/**
 * GET /api/v1/system/status: who may read it, what it reports for the test stack, the
 * backlog against rows written here, and dead dependencies reported inside a 200 answer.
 */
const PATH = "/api/v1/system/status";
const metricsToken = () => bearer(env.METRICS_TOKEN ?? "");
const dead = (url: string) => {
  const u = new URL(url);
  u.port = String(CLOSED_PORT);
  return u.toString();
};

async function statusOf(res: Response): Promise<SystemStatus> {
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as SystemStatus;
}

describe("GET /api/v1/system/status", () => {
  const db = pools();
  let sys: Record<string, string>;

  beforeAll(async () => {
    sys = await systemAdminHeaders(db.admin);
  });
  afterAll(() => db.end());

  describe("access", () => {
    it("a system admin reads every check ok and the test provisioner live", async () => {
      const status = await statusOf(await api(PATH, { headers: sys }));
      expect(status).toMatchObject({
        db: "ok",
        redis: "ok",
        provisioner: { reachable: true, mode: "live" },
        queue: {
          pending: expect.any(Number),
          sent: expect.any(Number),
          failed: expect.any(Number),
          dead: expect.any(Number),
        },
      });
    });

    it("the METRICS_TOKEN bearer reads it too; a wrong one is 401", async () => {
      expect((await statusOf(await api(PATH, { headers: metricsToken() }))).db).toBe("ok");
      await expectProblem(
        await api(PATH, { headers: bearer("not-the-metrics-token-0123456789") }),
        401,
        "invalid_token",
      );
    });

    it("a tenant admin and an admin API key are 403, anonymous is 401", async () => {
      const f = await tenantWithRoles(db.admin);
      await expectProblem(await api(PATH, { headers: bearer(f.users.admin.token) }), 403, "forbidden");
      const key = await api(
        "/api/v1/api-keys",
        jsonInit("POST", { name: "status", role: "admin" }, bearer(f.users.admin.token)),
      );
      const { key: secret } = (await key.json()) as { key: string };
      await expectProblem(await api(PATH, { headers: { "x-api-key": secret } }), 403, "forbidden");
      await expectProblem(await api(PATH), 401, "unauthenticated");
    });
  });

  describe("configuration warnings", () => {
    it("the test config (development, loopback http provisioner, every optional secret) warns only of invitation delivery", async () => {
      const status = await statusOf(await api(PATH, { headers: metricsToken() }));
      expect(status.warnings).toEqual([
        {
          code: "invitation_delivery_response",
          severity: "warning",
          message: expect.stringContaining("INVITATION_DELIVERY"),
        },
      ]);
    });

    it("a production config with every mistake gets every code, in the fixed order, with its severity", () => {
      const config = {
        ...loadConfig(env),
        ENVIRONMENT: "production" as const,
        INVITATION_DELIVERY: undefined,
        PROVISIONER_URL: "http://provisioner.internal:8790",
        BASE_DOMAIN: "localhost",
        NEON_LOCAL_HTTP: "http://127.0.0.1:4444/sql",
        RATE_LIMIT_FAILURE_MODE: "open" as const,
        METRICS_TOKEN: undefined,
        JWKS_URL: undefined,
      };
      const warnings = configWarnings({ config, provisionerMode: "dry_run" });
      expect(warnings.map((w) => [w.code, w.severity])).toEqual([
        ["provisioner_url_insecure", "error"],
        ["provisioner_dry_run", "error"],
        ["base_domain_localhost", "error"],
        ["local_stand_ins_configured", "error"],
        ["rate_limit_fail_open", "warning"],
        ["metrics_token_missing", "warning"],
        ["jwks_url_missing", "warning"],
      ]);
      for (const w of warnings) expect(w.message.length).toBeGreaterThan(20);
    });

    it("a well-configured production has none; a dry-run provisioner is an error in staging, a warning in development", () => {
      const base = loadConfig(env);
      const production = {
        ...base,
        ENVIRONMENT: "production" as const,
        INVITATION_DELIVERY: undefined,
        PROVISIONER_URL: "https://provisioner.example.com",
        BASE_DOMAIN: "api.example.com",
        NEON_LOCAL_PROXY: undefined,
        NEON_LOCAL_HTTP: undefined,
        RATE_LIMIT_FAILURE_MODE: "closed" as const,
      };
      expect(configWarnings({ config: production, provisionerMode: "live" })).toEqual([]);
      // An unreachable provisioner is reported by the check itself, not as a dry run.
      expect(configWarnings({ config: production, provisionerMode: null })).toEqual([]);
      const staging = { ...production, ENVIRONMENT: "staging" as const };
      expect(configWarnings({ config: staging, provisionerMode: "dry_run" })).toMatchObject([
        { code: "provisioner_dry_run", severity: "error" },
      ]);
      const development = { ...base, INVITATION_DELIVERY: undefined };
      expect(configWarnings({ config: development, provisionerMode: "dry_run" })).toMatchObject([
        { code: "provisioner_dry_run", severity: "warning" },
      ]);
    });

    it("plain http is accepted on loopback only", () => {
      const base = { ...loadConfig(env), INVITATION_DELIVERY: undefined };
      const codes = (url: string) =>
        configWarnings({ config: { ...base, PROVISIONER_URL: url }, provisionerMode: "live" }).map(
          (w) => w.code,
        );
      for (const url of [
        "http://127.0.0.1:8790",
        "http://127.8.9.10",
        "http://localhost:8790",
        "http://[::1]:8790",
      ])
        expect(codes(url), url).toEqual([]);
      for (const url of ["http://10.0.0.7:8790", "http://localhost.example.com", "http://128.0.0.1"])
        expect(codes(url), url).toEqual(["provisioner_url_insecure"]);
    });
  });

  describe("queue backlog", () => {
    it("counts pending, sent, failed and dead jobs of every tenant, and the oldest open job's age", async () => {
      const tenant = await createTenant(db.admin);
      const inserted = { pending: 3, sent: 2, failed: 4, dead: 5 };
      const backlog = async () => (await statusOf(await api(PATH, { headers: sys }))).queue;
      const insertAll = async () => {
        const ids: string[] = [];
        for (const [status, n] of Object.entries(inserted))
          for (let i = 0; i < n; i++)
            ids.push((await insertJob(db.admin, tenant.id, "provision", { status })).id);
        // Finished well: never counted.
        ids.push((await insertJob(db.admin, tenant.id, "provision", { status: "succeeded" })).id);
        // Open for two hours (by its creation; `updated_at` is fresh, so the reconciler leaves it alone).
        ids.push(
          (
            await insertJob(db.admin, tenant.id, "provision", {
              status: "pending",
              created_at: new Date(Date.now() - 2 * 3_600_000),
            })
          ).id,
        );
        return ids;
      };
      const expected = { ...inserted, pending: inserted.pending + 1 };
      try {
        let ids: string[] = [];
        const { delta, after } = await countedDelta(
          backlog,
          expected,
          async () => {
            ids = await insertAll();
          },
          () => db.admin.query("delete from provisioning_jobs where id = any($1)", [ids]),
        );
        expect(delta).toEqual(expected);
        expect(after?.oldest_age_s).toBeGreaterThanOrEqual(2 * 3_600 - 5);
      } finally {
        await db.admin.query("delete from tenants where id = $1", [tenant.id]);
      }
    });
  });

  describe("email and webhook backlogs", () => {
    it("count pending, failed and dead webhook deliveries of every tenant, and the oldest open one's age", async () => {
      const tenant = await createTenant(db.admin);
      const endpoint = crypto.randomUUID();
      await db.admin.query(
        `insert into webhook_endpoints (id, tenant_id, url, events, secret_ciphertext, secret_iv)
         values ($1, $2, 'https://hooks.example.com/x', '{tenant.*}', 'c', 'i')`,
        [endpoint, tenant.id],
      );
      const inserted = { pending: 2, failed: 3, dead: 1 };
      const insertAll = async () => {
        for (const [status, n] of Object.entries(inserted)) {
          for (let i = 0; i < n; i++) {
            await db.admin.query(
              `insert into webhook_deliveries (id, tenant_id, endpoint_id, event_id, event_type, payload, status, queued_at, created_at)
               values (gen_random_uuid(), $1, $2, gen_random_uuid(), 'tenant.updated', '{}', $3, now(), now() - interval '1 hour')`,
              [tenant.id, endpoint, status],
            );
          }
        }
        // Delivered: never counted.
        await db.admin.query(
          `insert into webhook_deliveries (id, tenant_id, endpoint_id, event_id, event_type, payload, status, queued_at)
           values (gen_random_uuid(), $1, $2, gen_random_uuid(), 'tenant.updated', '{}', 'delivered', now())`,
          [tenant.id, endpoint],
        );
      };
      const backlog = async () => (await statusOf(await api(PATH, { headers: sys }))).webhooks;
      try {
        const { delta, after } = await countedDelta(backlog, inserted, insertAll, () =>
          db.admin.query("delete from webhook_deliveries where endpoint_id = $1", [endpoint]),
        );
        expect(delta).toEqual(inserted);
        expect(after?.oldest_age_s).toBeGreaterThanOrEqual(3_600 - 5);
        const status = await statusOf(await api(PATH, { headers: sys }));
        expect(status.notifications).toMatchObject({
          pending: expect.any(Number),
          failed: expect.any(Number),
          dead: expect.any(Number),
        });
      } finally {
        await db.admin.query("delete from tenants where id = $1", [tenant.id]);
      }
    });
  });

  describe("dead dependencies are reported, never a 500 or a hang", () => {
    it("Redis down: redis is error, the rest ok, still 200", async () => {
      const res = await call(
        worker,
        PATH,
        { headers: sys },
        { UPSTASH_REDIS_REST_URL: dead(env.UPSTASH_REDIS_REST_URL) },
      );
      const status = await statusOf(res);
      expect(status).toMatchObject({ db: "ok", redis: "error", provisioner: { reachable: true } });
      expect(status.queue).not.toBeNull();
    });

    it("Postgres down: with the METRICS_TOKEN, db is error and the backlog null, still 200", async () => {
      const res = await call(
        worker,
        PATH,
        { headers: metricsToken() },
        { DATABASE_URL: dead(env.DATABASE_URL) },
      );
      const status = await statusOf(res);
      expect(status).toMatchObject({
        db: "error",
        redis: "ok",
        queue: null,
        notifications: null,
        webhooks: null,
        provisioner: { reachable: true },
      });
    });

    it("Postgres down: a system admin this isolate has not seen cannot be checked, so 503 dependency_unavailable", async () => {
      const unseen = await systemAdminHeaders(db.admin);
      const res = await call(worker, PATH, { headers: unseen }, { DATABASE_URL: dead(env.DATABASE_URL) });
      await expectProblem(res, 503, "dependency_unavailable");
    });

    it("provisioner down: unreachable with no mode or version, still 200", async () => {
      // The ping's own 2 s timeout bounds it; the test's timeout would catch a hang.
      const res = await call(
        worker,
        PATH,
        { headers: sys },
        { PROVISIONER_URL: `http://127.0.0.1:${CLOSED_PORT}` },
      );
      const status = await statusOf(res);
      expect(status.provisioner).toEqual({
        reachable: false,
        mode: null,
        version: null,
        error: expect.stringMatching(/^provisioner unreachable/),
      });
      expect(status).toMatchObject({ db: "ok", redis: "ok" });
    });

    it("a dry-run provisioner (the dev stack's) is reported as such, with a warning in development", async () => {
      const res = await call(
        worker,
        PATH,
        { headers: sys },
        { PROVISIONER_URL: await dryRunProvisionerUrl() },
      );
      const status = await statusOf(res);
      expect(status.provisioner).toMatchObject({ reachable: true, mode: "dry_run" });
      expect(status.warnings).toContainEqual(
        expect.objectContaining({ code: "provisioner_dry_run", severity: "warning" }),
      );
    });
  });
});

/**
 * How much `insert` moved the counts `read` answers, in the keys of `expected`. Other test
 * files write at the same time, so a window they touched is measured again (after `undo`),
 * up to five times; the last measurement is answered either way.
 */
async function countedDelta<K extends string, T extends Record<K, number>>(
  read: () => Promise<T | null>,
  expected: Record<K, number>,
  insert: () => Promise<unknown>,
  undo: () => Promise<unknown>,
) {
  let delta: Record<string, number> = {};
  let after: T | null = null;
  for (let attempt = 0; attempt < 5; attempt++) {
    const before = await read();
    await insert();
    after = await read();
    if (!before || !after) throw new Error("the backlog was not counted");
    const [b, a] = [before, after];
    delta = Object.fromEntries(Object.keys(expected).map((k) => [k, a[k as K] - b[k as K]]));
    if (JSON.stringify(delta) === JSON.stringify(expected)) break;
    await undo();
  }
  return { delta, after };
}
