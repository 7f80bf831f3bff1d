import { env } from "cloudflare:workers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openHttp } from "../src/db/client";
import { loadConfig } from "../src/env";
import { purgeOldUsage, rollupDailyUsage } from "../src/jobs/usage-rollup";
import { redisFor } from "../src/services/platform/redis";
import { addDays, PENDING_KEY, pendingMember, utcDay } from "../src/services/platform/usage-counters";
import { USAGE_CSV_COLUMNS } from "../src/services/tenancy/daily-usage";
import { pools } from "./support/db";
import { api, bearer, createUser, jsonInit, tenantWithRoles, tokenFor } from "./support/fixtures";
import { expectProblem } from "./support/problems";

const config = loadConfig(env);
const http = openHttp(config);
/** The default batch: the queue and the tenants are shared with every other test file. */
const BATCH = 200;

interface UsageDay {
  day: string;
  api_calls: number;
  api_calls_2xx: number;
  api_calls_3xx: number;
  api_calls_4xx: number;
  api_calls_5xx: number;
  rate_limited: number;
  quota_denied: number;
  credential_reveals: number;
  members: number | null;
  api_keys: number | null;
  clusters: number | null;
  plugins: number | null;
  credentials: number | null;
  quota_cpu_cores: number | null;
  quota_memory_gb: number | null;
  quota_storage_gb: number | null;
  quota_gpus: number | null;
  snapshot_at: string | null;
}

interface TenantDailyUsage {
  tenant_id: string;
  from: string;
  to: string;
  days: UsageDay[];
}

const today = () => utcDay(Date.now());

/** Runs the rollup until `done` holds (other files' pairs and tenants share the queue). */
async function rollupUntil(done: () => Promise<boolean>): Promise<void> {
  for (let run = 0; run < 30; run++) {
    await rollupDailyUsage(http, config, { now: Date.now(), batchSize: BATCH });
    if (await done()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("the rollup did not get there in 30 runs");
}

function sum(days: UsageDay[], field: keyof UsageDay): number {
  return days.reduce((total, d) => total + Number(d[field] ?? 0), 0);
}

describe("daily usage", () => {
  const db = pools();
  let sys: Record<string, string>;

  beforeAll(async () => {
    const root = await createUser(db.admin, { isSystemAdmin: true });
    sys = bearer(await tokenFor(root, null, { isSystemAdmin: true }));
  });

  afterAll(() => db.end());

  const rowOf = async (tenantId: string, day = today()) =>
    (
      await db.admin.query<Record<string, unknown>>(
        "select * from usage_daily where tenant_id = $1 and day = $2",
        [tenantId, day],
      )
    ).rows[0];

  const dailyOf = async (tenantId: string, headers: Record<string, string>, query = "") =>
    api(`/api/v1/tenants/${tenantId}/usage/daily${query}`, { headers });

  describe("agrees with /metrics", () => {
    const scrape = async () => {
      const res = await api("/metrics", { headers: bearer(env.METRICS_TOKEN as string) });
      expect(res.status).toBe(200);
      return res.text();
    };

    /** The sum of every sample of `name` whose labels include `tenant="<id>"` (and `extra`). */
    function total(text: string, name: string, tenant: string, extra: Record<string, string> = {}): number {
      const wanted = Object.entries({ tenant, ...extra }).map(([k, v]) => `${k}="${v}"`);
      let n = 0;
      for (const line of text.split("\n")) {
        if (!line.startsWith(`${name}{`)) continue;
        const labels = line.slice(name.length + 1, line.lastIndexOf("}")).split(",");
        if (wanted.every((w) => labels.includes(w))) n += Number(line.slice(line.lastIndexOf(" ") + 1));
      }
      return n;
    }

    it("a known request mix: the same numbers in Postgres, in the API and in /metrics", async () => {
      const f = await tenantWithRoles(db.admin);
      const tenant = f.tenant.id;
      // 7 calls an hour and no API key may be created: the 8th call is rate limited.
      await db.admin.query(
        `update tenants set quota_overrides = '{"api_calls_per_hour": 7, "api_keys": 0}' where id = $1`,
        [tenant],
      );
      const admin = bearer(f.users.admin.token);
      for (let i = 0; i < 3; i++)
        expect((await api("/api/v1/members", { headers: bearer(f.users.viewer.token) })).status).toBe(200);
      await expectProblem(
        await api(`/api/v1/api-keys/${crypto.randomUUID()}`, { method: "DELETE", headers: admin }),
        404,
        "not_found",
      );
      await expectProblem(
        await api("/api/v1/api-keys", jsonInit("POST", { name: "k", role: "viewer" }, admin)),
        429,
        "quota_exceeded",
      );
      const created = await api(
        "/api/v1/credentials",
        jsonInit("POST", { name: "db", kind: "password", value: "s3cret" }, admin),
      );
      expect(created.status).toBe(201);
      const { id } = (await created.json()) as { id: string };
      expect((await api(`/api/v1/credentials/${id}/reveal`, { method: "POST", headers: admin })).status).toBe(
        200,
      );
      await expectProblem(await api("/api/v1/members", { headers: admin }), 429, "rate_limited");
      const expected = {
        api_calls: 8,
        api_calls_2xx: 5,
        api_calls_3xx: 0,
        api_calls_4xx: 3,
        api_calls_5xx: 0,
        rate_limited: 1,
        quota_denied: 1,
        credential_reveals: 1,
      };

      // The metrics land after the response (waitUntil): wait for /metrics to count all 8.
      let text = "";
      for (let tries = 0; tries < 100; tries++) {
        text = await scrape();
        if (total(text, "tenantry_requests_total", tenant) === 8) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      const fromMetrics = {
        api_calls: total(text, "tenantry_requests_total", tenant),
        api_calls_2xx: total(text, "tenantry_requests_total", tenant, { status_class: "2xx" }),
        api_calls_3xx: total(text, "tenantry_requests_total", tenant, { status_class: "3xx" }),
        api_calls_4xx: total(text, "tenantry_requests_total", tenant, { status_class: "4xx" }),
        api_calls_5xx: total(text, "tenantry_requests_total", tenant, { status_class: "5xx" }),
        rate_limited: total(text, "tenantry_rate_limited_total", tenant),
        quota_denied: total(text, "tenantry_quota_denied_total", tenant),
        credential_reveals: total(text, "tenantry_credential_reveals_total", tenant),
      };
      expect(fromMetrics).toEqual(expected);

      await rollupUntil(async () => (await rowOf(tenant))?.snapshot_at != null);
      const row = await rowOf(tenant);
      expect(row).toMatchObject({
        api_calls_2xx: "5",
        api_calls_4xx: "3",
        rate_limited: "1",
        quota_denied: "1",
        credential_reveals: "1",
      });

      // The same window through the API (yesterday too, should the test straddle midnight UTC).
      const res = await dailyOf(tenant, sys, `?from=${addDays(today(), -1)}&to=${today()}`);
      expect(res.status).toBe(200);
      const body = (await res.json()) as TenantDailyUsage;
      const fromApi = Object.fromEntries(
        Object.keys(expected).map((field) => [field, sum(body.days, field as keyof UsageDay)]),
      );
      expect(fromApi).toEqual(fromMetrics);
      // Today's snapshot: the three members, one credential, nothing else; the free plan's quota.
      expect(body.days.at(-1)).toMatchObject({
        day: today(),
        members: 3,
        api_keys: 0,
        clusters: 0,
        plugins: 0,
        credentials: 1,
        quota_cpu_cores: 4,
        quota_memory_gb: 8,
        quota_storage_gb: 20,
        quota_gpus: 0,
        snapshot_at: expect.any(String),
      });
    });
  });

  describe("the rollup", () => {
    /** A tenant with two requests of today counted in Redis and rolled up once. */
    async function rolledUp() {
      const f = await tenantWithRoles(db.admin);
      for (let i = 0; i < 2; i++) await api("/api/v1/members", { headers: bearer(f.users.viewer.token) });
      await rollupUntil(async () => Number((await rowOf(f.tenant.id))?.api_calls_2xx ?? 0) === 2);
      return f;
    }

    it("rerunning it, even over the same counters, never counts twice", async () => {
      const f = await rolledUp();
      const before = await rowOf(f.tenant.id);
      // The same pair queued again, as if the run that settled it had died first.
      await redisFor(config).zadd(PENDING_KEY, { score: 0, member: pendingMember(today(), f.tenant.id) });
      await rollupDailyUsage(http, config, { now: Date.now(), batchSize: BATCH });
      await rollupDailyUsage(http, config, { now: Date.now(), batchSize: BATCH });
      expect(await rowOf(f.tenant.id)).toMatchObject({
        api_calls_2xx: before?.api_calls_2xx,
        api_calls_4xx: before?.api_calls_4xx,
      });
      expect(Number((await rowOf(f.tenant.id))?.api_calls_2xx)).toBe(2);
    });

    it("overlapping runs write the latest counters once", async () => {
      const f = await rolledUp();
      await api("/api/v1/members", { headers: bearer(f.users.viewer.token) });
      await rollupUntil(async () => {
        await Promise.all([
          rollupDailyUsage(http, config, { now: Date.now(), batchSize: BATCH }),
          rollupDailyUsage(http, config, { now: Date.now(), batchSize: BATCH }),
        ]);
        return Number((await rowOf(f.tenant.id))?.api_calls_2xx) === 3;
      });
      await rollupDailyUsage(http, config, { now: Date.now(), batchSize: BATCH });
      expect(Number((await rowOf(f.tenant.id))?.api_calls_2xx)).toBe(3);
    });

    it("takes at most a batch of queued days per run, oldest first, and leaves the rest queued", async () => {
      const redis = redisFor(config);
      const f = await tenantWithRoles(db.admin);
      await api("/api/v1/members", { headers: bearer(f.users.viewer.token) });
      const member = pendingMember(today(), f.tenant.id);
      await new Promise((r) => setTimeout(r, 1_500)); // the flush has queued the pair
      expect(await redis.zscore(PENDING_KEY, member)).not.toBeNull();
      // Queued before anything else: the first pair a run of one takes.
      await redis.zadd(PENDING_KEY, { score: -1, member });
      const result = await rollupDailyUsage(http, config, { now: Date.now(), batchSize: 1 });
      expect(result).toMatchObject({ days: 1, settled: 1 });
      expect(await redis.zscore(PENDING_KEY, member)).toBeNull();
      expect(Number((await rowOf(f.tenant.id))?.api_calls_2xx)).toBe(1);
    });

    it("forgets a queued tenant that was purged meanwhile", async () => {
      const redis = redisFor(config);
      const gone = crypto.randomUUID();
      await redis.hincrby(`usage:daily:${today()}:${gone}`, "api_calls_2xx", 1);
      await redis.zadd(PENDING_KEY, { score: -2, member: pendingMember(today(), gone) });
      await redis.zadd(PENDING_KEY, { score: -2, member: "not-a-pair" });
      await rollupDailyUsage(http, config, { now: Date.now(), batchSize: 2 });
      expect(await redis.zscore(PENDING_KEY, pendingMember(today(), gone))).toBeNull();
      expect(await redis.zscore(PENDING_KEY, "not-a-pair")).toBeNull();
      expect(await rowOf(gone)).toBeUndefined();
    });
  });

  describe("retention", () => {
    it("purges rows older than 400 days in bounded batches and keeps the 400th", async () => {
      const f = await tenantWithRoles(db.admin);
      const keptFrom = addDays(today(), -399);
      // The oldest day still kept, and 25 days older.
      await db.admin.query(
        `insert into usage_daily (tenant_id, day, api_calls_2xx)
         select $1, ($2::date - g), 1 from generate_series(0, 25) g`,
        [f.tenant.id, keptFrom],
      );
      // One row per statement, 20 statements a run: 20 of the 25 go (fewer only if the daily
      // purge of another test file took some meanwhile), the next run takes the rest.
      const first = await purgeOldUsage(http, { now: Date.now(), batchSize: 1 });
      expect(first.deleted).toBeLessThanOrEqual(20);
      expect(first.batchFull).toBe(first.deleted === 20);
      const second = await purgeOldUsage(http, { now: Date.now(), batchSize: 10 });
      expect(second.batchFull).toBe(false);
      const { rows } = await db.admin.query<{ day: string }>(
        "select to_char(day, 'YYYY-MM-DD') as day from usage_daily where tenant_id = $1",
        [f.tenant.id],
      );
      expect(rows).toEqual([{ day: keptFrom }]);
    });
  });

  describe("GET /api/v1/tenants/{id}/usage/daily", () => {
    it("is for the tenant's admins and system admins: a member is refused", async () => {
      const f = await tenantWithRoles(db.admin);
      expect((await dailyOf(f.tenant.id, bearer(f.users.admin.token))).status).toBe(200);
      expect((await dailyOf(f.tenant.slug, sys)).status).toBe(200);
      await expectProblem(await dailyOf(f.tenant.id, bearer(f.users.member.token)), 403, "forbidden");
      await expectProblem(await dailyOf(f.tenant.id, bearer(f.users.viewer.token)), 403, "forbidden");
    });

    it("tenant B cannot read A's usage, through the API or the database", async () => {
      const a = await tenantWithRoles(db.admin);
      const b = await tenantWithRoles(db.admin);
      await db.admin.query("insert into usage_daily (tenant_id, day, api_calls_2xx) values ($1, $2, 42)", [
        a.tenant.id,
        today(),
      ]);
      await expectProblem(await dailyOf(a.tenant.id, bearer(b.users.admin.token)), 403, "tenant_mismatch");
      const client = await db.app.connect();
      try {
        await client.query("begin");
        await client.query("select set_config('app.tenant_id', $1, true)", [b.tenant.id]);
        const seen = await client.query("select * from usage_daily where tenant_id = $1", [a.tenant.id]);
        expect(seen.rows).toEqual([]);
        const error = await client
          .query("update usage_daily set api_calls_2xx = 0 where tenant_id = $1 returning 1", [a.tenant.id])
          .then((r) => r.rowCount);
        expect(error).toBe(0);
      } finally {
        await client.query("rollback");
        client.release();
      }
      const own = (await (
        await dailyOf(a.tenant.id, bearer(a.users.admin.token))
      ).json()) as TenantDailyUsage;
      expect(own.days.at(-1)?.api_calls_2xx).toBe(42);
    });

    it("defaults to the last 30 days, every day present, zeros without activity", async () => {
      const f = await tenantWithRoles(db.admin);
      const fiveAgo = addDays(today(), -5);
      await db.admin.query(
        "insert into usage_daily (tenant_id, day, api_calls_2xx, api_calls_5xx, members, cpu_cores, snapshot_at) values ($1, $2, 7, 1, 3, 4, now())",
        [f.tenant.id, fiveAgo],
      );
      const res = await dailyOf(f.tenant.id, bearer(f.users.admin.token));
      const body = (await res.json()) as TenantDailyUsage;
      expect(body).toMatchObject({ tenant_id: f.tenant.id, from: addDays(today(), -29), to: today() });
      expect(body.days.map((d) => d.day)).toEqual(
        Array.from({ length: 30 }, (_, i) => addDays(today(), i - 29)),
      );
      const active = body.days.find((d) => d.day === fiveAgo);
      expect(active).toMatchObject({ api_calls: 8, api_calls_2xx: 7, api_calls_5xx: 1, members: 3 });
      expect(active?.quota_cpu_cores).toBe(4);
      const quiet = body.days.find((d) => d.day === addDays(today(), -6));
      expect(quiet).toEqual({
        day: addDays(today(), -6),
        api_calls: 0,
        api_calls_2xx: 0,
        api_calls_3xx: 0,
        api_calls_4xx: 0,
        api_calls_5xx: 0,
        rate_limited: 0,
        quota_denied: 0,
        credential_reveals: 0,
        members: null,
        api_keys: null,
        clusters: null,
        plugins: null,
        credentials: null,
        quota_cpu_cores: null,
        quota_memory_gb: null,
        quota_storage_gb: null,
        quota_gpus: null,
        snapshot_at: null,
      });
    });

    it("refuses a range backwards, longer than 400 days, or not made of dates", async () => {
      const f = await tenantWithRoles(db.admin);
      const admin = bearer(f.users.admin.token);
      const backwards = await expectProblem(
        await dailyOf(f.tenant.id, admin, "?from=2026-03-02&to=2026-03-01"),
        400,
        "validation_failed",
      );
      expect(backwards.errors).toEqual([expect.objectContaining({ path: "from", code: "invalid_range" })]);
      const tooLong = await expectProblem(
        await dailyOf(f.tenant.id, admin, "?from=2025-01-01&to=2026-02-05"),
        400,
        "validation_failed",
      );
      expect(tooLong.errors).toEqual([expect.objectContaining({ path: "to", code: "too_big" })]);
      // Exactly 400 days is fine.
      const longest = await dailyOf(f.tenant.id, admin, "?from=2025-01-01&to=2026-02-04");
      expect(longest.status).toBe(200);
      expect(((await longest.json()) as TenantDailyUsage).days).toHaveLength(400);
      for (const query of ["?from=2026-13-01", "?to=yesterday", "?from=2026-02-30", "?from=20260101"]) {
        const bad = await expectProblem(await dailyOf(f.tenant.id, admin, query), 400, "validation_failed");
        expect(bad.errors?.[0]?.path).toMatch(/^(from|to)$/);
      }
    });

    it("answers CSV for Accept: text/csv: a header row, one CRLF record per day", async () => {
      const f = await tenantWithRoles(db.admin);
      await db.admin.query(
        "insert into usage_daily (tenant_id, day, api_calls_2xx, api_calls_4xx, rate_limited, members, gpus, snapshot_at) values ($1, '2026-03-02', 9, 2, 1, 4, 0.5, '2026-03-02T23:55:00Z')",
        [f.tenant.id],
      );
      const res = await dailyOf(
        f.tenant.id,
        { ...bearer(f.users.admin.token), accept: "text/csv" },
        "?from=2026-03-01&to=2026-03-03",
      );
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe("text/csv; charset=utf-8");
      expect(res.headers.get("content-disposition")).toBe(
        `attachment; filename="${f.tenant.slug}-usage-2026-03-01-2026-03-03.csv"`,
      );
      const text = await res.text();
      expect(text.endsWith("\r\n")).toBe(true);
      const records = text.slice(0, -2).split("\r\n");
      expect(records).toHaveLength(4);
      expect(records[0]).toBe(USAGE_CSV_COLUMNS.join(","));
      expect(records[0]).toBe(
        "tenant_id,day,api_calls,api_calls_2xx,api_calls_3xx,api_calls_4xx,api_calls_5xx,rate_limited,quota_denied,credential_reveals,members,api_keys,clusters,plugins,credentials,quota_cpu_cores,quota_memory_gb,quota_storage_gb,quota_gpus,snapshot_at",
      );
      expect(records[1]).toBe(`${f.tenant.id},2026-03-01,0,0,0,0,0,0,0,0,,,,,,,,,,`);
      expect(records[2]).toBe(
        `${f.tenant.id},2026-03-02,11,9,0,2,0,1,0,0,4,,,,,,,,0.5,2026-03-02T23:55:00.000Z`,
      );
      for (const record of records) expect(record.split(",")).toHaveLength(USAGE_CSV_COLUMNS.length);
      // JSON stays the default, and wins when the client prefers it.
      for (const accept of ["*/*", "application/json", "text/csv;q=0.5, application/json"]) {
        const json = await dailyOf(f.tenant.id, { ...bearer(f.users.admin.token), accept });
        expect(json.headers.get("content-type"), accept).toContain("application/json");
      }
    });
  });

  describe("GET /api/v1/usage/daily", () => {
    it("lists every tenant with usage in the range, a page of tenants at a time, as JSON or CSV", async () => {
      const day = "1999-06-15";
      const mine = [await tenantWithRoles(db.admin), await tenantWithRoles(db.admin)];
      for (const [i, f] of mine.entries())
        await db.admin.query("insert into usage_daily (tenant_id, day, api_calls_2xx) values ($1, $2, $3)", [
          f.tenant.id,
          day,
          i + 1,
        ]);
      const range = `from=${addDays(day, -1)}&to=${addDays(day, 1)}`;
      const first = await api(`/api/v1/usage/daily?${range}&limit=1`, { headers: sys });
      expect(first.status).toBe(200);
      const page = (await first.json()) as { data: TenantDailyUsage[]; next_cursor: string | null };
      expect(page.data).toHaveLength(1);
      expect(page.data[0]?.days.map((d) => d.api_calls)).toEqual([0, 1, 0]);
      expect(page.next_cursor).not.toBeNull();
      const rest = (await (
        await api(`/api/v1/usage/daily?${range}&limit=100&cursor=${page.next_cursor}`, { headers: sys })
      ).json()) as { data: TenantDailyUsage[]; next_cursor: string | null };
      expect([...page.data, ...rest.data].map((t) => t.tenant_id)).toEqual(mine.map((f) => f.tenant.id));
      expect(rest.next_cursor).toBeNull();

      const csv = await api(`/api/v1/usage/daily?${range}&limit=1`, {
        headers: { ...sys, accept: "text/csv" },
      });
      expect(csv.headers.get("content-type")).toBe("text/csv; charset=utf-8");
      expect(csv.headers.get("link")).toBe(
        `</api/v1/usage/daily?${range}&limit=1&cursor=${page.next_cursor}>; rel="next"`,
      );
      const records = (await csv.text()).trim().split("\r\n");
      expect(records).toHaveLength(4);
      expect(records[2]).toMatch(new RegExp(`^${mine[0]?.tenant.id},${day},1,1,`));
    });

    it("is for system admins only, with the same range rules", async () => {
      const f = await tenantWithRoles(db.admin);
      await expectProblem(
        await api("/api/v1/usage/daily", { headers: bearer(f.users.admin.token) }),
        403,
        "forbidden",
      );
      await expectProblem(await api("/api/v1/usage/daily"), 401, "unauthenticated");
      await expectProblem(
        await api("/api/v1/usage/daily?from=2026-01-02&to=2026-01-01", { headers: sys }),
        400,
        "validation_failed",
      );
      await expectProblem(
        await api("/api/v1/usage/daily?cursor=garbage", { headers: sys }),
        400,
        "validation_failed",
      );
    });
  });
});
