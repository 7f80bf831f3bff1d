import { env } from "cloudflare:workers";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import worker from "../src/index";
import { hashPassword } from "../src/lib/passwords";
import { pools } from "./support/db";
import { api, bearer, createUser, jsonInit, tenantWithRoles, tokenFor } from "./support/fixtures";
import { CLOSED_PORT, call } from "./support/http";
import { expectProblem } from "./support/problems";

type Fixture = Awaited<ReturnType<typeof tenantWithRoles>>;

describe("per-tenant rate limiting", () => {
  const db = pools();
  afterAll(() => db.end());

  async function tenantWithLimit(callsPerHour: number): Promise<Fixture> {
    const fixture = await tenantWithRoles(db.admin);
    await db.admin.query("update tenants set quota_overrides = $2 where id = $1", [
      fixture.tenant.id,
      JSON.stringify({ api_calls_per_hour: callsPerHour }),
    ]);
    return fixture;
  }

  const members = (f: Fixture, headers: Record<string, string> = {}) =>
    api("/api/v1/members", { headers: { ...bearer(f.users.viewer.token), ...headers } });

  it("puts RateLimit-Policy and RateLimit on every tenant-scoped response", async () => {
    const f = await tenantWithRoles(db.admin);
    const first = await members(f);
    expect(first.headers.get("ratelimit-policy")).toBe('"tenant";q=1000;w=3600');
    const parse = (res: Response) => {
      const match = /^"tenant";r=(\d+);t=(\d+)$/.exec(res.headers.get("ratelimit") ?? "");
      expect(match).not.toBeNull();
      return { r: Number(match?.[1]), t: Number(match?.[2]) };
    };
    const a = parse(first);
    const b = parse(await members(f));
    expect(a.r).toBe(999);
    expect(b.r).toBe(998);
    expect(a.t).toBeGreaterThan(0);
    expect(a.t).toBeLessThanOrEqual(3600);
    // Error responses of tenant-scoped routes carry them too.
    const missing = await api(`/api/v1/api-keys/${crypto.randomUUID()}`, {
      method: "DELETE",
      headers: bearer(f.users.admin.token),
    });
    expect(missing.status).toBe(404);
    expect(missing.headers.get("ratelimit")).toMatch(/^"tenant";r=997;t=\d+$/);
  });

  it("admits exactly the limit under concurrent requests, then 429 with Retry-After", async () => {
    const f = await tenantWithLimit(5);
    const responses = await Promise.all(Array.from({ length: 12 }, () => members(f)));
    const statuses = responses.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 200)).toHaveLength(5);
    expect(statuses.filter((s) => s === 429)).toHaveLength(7);
    const denied = responses.find((r) => r.status === 429) as Response;
    await expectProblem(denied, 429, "rate_limited");
    expect(Number(denied.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(denied.headers.get("ratelimit-policy")).toBe('"tenant";q=5;w=3600');
    expect(denied.headers.get("ratelimit")).toMatch(/^"tenant";r=0;t=\d+$/);
  });

  it("a read refused by the limit shows nothing of what it read (the query overlaps the limiter)", async () => {
    const f = await tenantWithLimit(1);
    const allowed = await members(f);
    expect(allowed.status).toBe(200);
    expect(await allowed.text()).toContain(f.users.viewer.email);
    const denied = await members(f);
    const text = await denied.clone().text();
    await expectProblem(denied, 429, "rate_limited");
    for (const user of Object.values(f.users)) expect(text).not.toContain(user.email);
    expect(text).not.toContain('"data"');
  });

  it("an audited read (the export) over budget is refused before it runs: no audit record", async () => {
    const f = await tenantWithLimit(1);
    await db.admin.query("update tenants set plan = 'pro' where id = $1", [f.tenant.id]);
    expect((await members(f)).status).toBe(200);
    const res = await api(`/api/v1/tenants/${f.tenant.id}/export`, { headers: bearer(f.users.admin.token) });
    await expectProblem(res, 429, "rate_limited");
    const { rows } = await db.admin.query(
      "select 1 from audit_events where tenant_id = $1 and action like 'tenant.export%'",
      [f.tenant.id],
    );
    expect(rows).toEqual([]);
  });

  it("never shares a bucket: exhausting A leaves B untouched", async () => {
    const a = await tenantWithLimit(3);
    const b = await tenantWithLimit(3);
    for (let i = 0; i < 3; i++) expect((await members(a)).status).toBe(200);
    expect((await members(a)).status).toBe(429);
    const other = await members(b);
    expect(other.status).toBe(200);
    expect(other.headers.get("ratelimit")).toMatch(/^"tenant";r=2;/);
  });

  it("does not meter system admins: they can act on a tenant that spent its budget", async () => {
    const f = await tenantWithLimit(2);
    for (let i = 0; i < 2; i++) expect((await members(f)).status).toBe(200);
    expect((await members(f)).status).toBe(429);
    const sys = await createUser(db.admin, { isSystemAdmin: true });
    const sysToken = await tokenFor(sys, null, { isSystemAdmin: true });
    const res = await api("/api/v1/members", {
      headers: { ...bearer(sysToken), "x-tenant-id": f.tenant.id },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("ratelimit")).toBeNull();
    expect((await members(f)).status).toBe(429);
  });

  it("shows API calls of the current window in the usage endpoint", async () => {
    const f = await tenantWithLimit(50);
    for (let i = 0; i < 4; i++) await members(f);
    const res = await api(`/api/v1/tenants/${f.tenant.id}/usage`, { headers: bearer(f.users.viewer.token) });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { quotas: Record<string, { limit: number; used: number | null }> };
    expect(body.quotas.api_calls_per_hour).toEqual({ limit: 50, used: 5 });
    expect(body.quotas.members).toEqual({ limit: 5, used: 3 });
    expect(body.quotas.cpu_cores).toEqual({ limit: 4, used: null });
    expect(Object.keys(body.quotas).sort()).toEqual(
      [
        "api_calls_per_hour",
        "api_keys",
        "clusters",
        "cpu_cores",
        "credentials",
        "gpus",
        "members",
        "memory_gb",
        "plugins",
        "storage_gb",
        "webhook_endpoints",
      ].sort(),
    );
  });

  describe("when Redis is unreachable", () => {
    let f: Fixture;
    let deadRedis: string;
    beforeAll(async () => {
      f = await tenantWithRoles(db.admin);
      const url = new URL(env.UPSTASH_REDIS_REST_URL);
      url.port = String(CLOSED_PORT);
      deadRedis = url.toString();
    });
    const request = (mode: string, overrides: Record<string, string> = {}) =>
      call(
        worker,
        "/api/v1/members",
        { headers: bearer(f.users.viewer.token) },
        {
          UPSTASH_REDIS_REST_URL: deadRedis,
          RATE_LIMIT_FAILURE_MODE: mode,
          ...overrides,
        },
      );

    it("fails open by default: requests pass and one warning is logged per window", async () => {
      const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
      try {
        for (let i = 0; i < 3; i++) expect((await request("open")).status).toBe(200);
        const warnings = warn.mock.calls
          .map((args) => String(args[0]))
          .filter((l) => l.includes("fail open"));
        expect(warnings).toHaveLength(1);
      } finally {
        warn.mockRestore();
      }
    });

    it("fails closed when configured: 503 dependency_unavailable", async () => {
      await expectProblem(await request("closed"), 503, "dependency_unavailable");
    });

    it("treats an endpoint that answers errors (bad token) the same way", async () => {
      const res = await call(
        worker,
        "/api/v1/members",
        { headers: bearer(f.users.viewer.token) },
        {
          UPSTASH_REDIS_REST_TOKEN: "wrong-token",
          RATE_LIMIT_FAILURE_MODE: "closed",
        },
      );
      await expectProblem(res, 503, "dependency_unavailable");
    });
  });
});

describe("login limits: failures only, and never the owner's clean address", () => {
  const db = pools();
  afterAll(() => db.end());
  afterEach(() => vi.useRealTimers());
  // Addresses 10.<run>.<host>: this file's own, so a Redis shared with an earlier run (REDIS_URL)
  // within the hour cannot hold their counters. `host` = group * 25 + index keeps groups apart.
  const run = crypto.getRandomValues(new Uint8Array(2)).join(".");
  const address = (group: number, index = 1) => `10.${run}.${group * 25 + index}`;
  const login = (email: string, ip: string, password = "wrong-password") =>
    api("/api/v1/auth/login", jsonInit("POST", { email, password }, { "cf-connecting-ip": ip }));

  async function userWithPassword(password: string) {
    return createUser(db.admin, { passwordHash: await hashPassword(password) });
  }

  it("10 failures a minute per address, then 429 before any verification", async () => {
    const ip = address(1);
    // The limits are fixed windows of the wall clock: a frozen clock keeps every request in one.
    freezeClock();
    for (let i = 0; i < 10; i++) expect((await login(`user${i}@example.test`, ip)).status).toBe(401);
    const blocked = await login("another@example.test", ip);
    await expectProblem(blocked, 429, "rate_limited");
    expect(Number(blocked.headers.get("retry-after"))).toBeGreaterThan(0);
  });

  it("an IPv6 client is metered by its /64: rotating the interface bits does not buy guesses", async () => {
    const runHex = run
      .split(".")
      .map((byte) => Number(byte).toString(16).padStart(2, "0"))
      .join("");
    const block = `fd00:${runHex}:6:1`;
    freezeClock();
    for (let i = 0; i < 10; i++) {
      expect((await login(`user${i}@example.test`, `${block}:${i.toString(16)}::1`)).status).toBe(401);
    }
    await expectProblem(await login("another@example.test", `${block}:ffff::99`), 429, "rate_limited");
    // The neighbouring /64 is another subscriber's.
    expect((await login("another@example.test", `fd00:${runHex}:6:2::1`)).status).toBe(401);
  });

  it("successes are not counted: 15 right passwords in a row from one address all sign in", async () => {
    const password = "a right password for this";
    const user = await userWithPassword(password);
    freezeClock();
    for (let i = 0; i < 15; i++) expect((await login(user.email, address(3), password)).status).toBe(200);
  });

  it("100 failures an hour per email refuse the addresses that failed, not a clean one; success forgives its own address", async () => {
    const password = "the owner's own password";
    const owner = await userWithPassword(password);
    const returning = address(4);
    freezeClock();
    // The owner mistypes once, then signs in: that address's failure is forgiven.
    expect((await login(owner.email, returning)).status).toBe(401);
    expect((await login(owner.email, returning, password)).status).toBe(200);
    // A spray of 100 failures from 20 other addresses spends the email's hourly budget.
    const sprayers = Array.from({ length: 20 }, (_, i) => address(5, i + 1));
    for (let round = 0; round < 5; round++) {
      const answers = await Promise.all(sprayers.map((ip) => login(owner.email, ip)));
      for (const res of answers) expect(res.status).toBe(401);
    }
    // A sprayer is now refused even with the right password; the owner's addresses are not.
    await expectProblem(await login(owner.email, sprayers[0] as string, password), 429, "rate_limited");
    expect((await login(owner.email, returning, password)).status).toBe(200);
    expect((await login(owner.email, address(6), password)).status).toBe(200);
  });

  it("an address that failed stays refused for the rest of the email's hour, not only its minute", async () => {
    const password = "the owner's own password";
    const owner = await userWithPassword(password);
    const sprayers = Array.from({ length: 20 }, (_, i) => address(7, i + 1));
    // At the start of an hour, so that a minute later is still inside it.
    const hourStart = freezeClock(3600);
    for (let round = 0; round < 5; round++) {
      for (const res of await Promise.all(sprayers.map((ip) => login(owner.email, ip)))) {
        expect(res.status).toBe(401);
      }
    }
    await expectProblem(await login(owner.email, sprayers[1] as string), 429, "rate_limited");
    // A minute later each sprayer's own per-minute window is fresh; the email's hour is not.
    vi.setSystemTime(hourStart + 61_000);
    await expectProblem(await login(owner.email, sprayers[1] as string, password), 429, "rate_limited");
    expect((await login(owner.email, address(8), password)).status).toBe(200);
  });
});

describe("invitation accepts: 10 a minute per client address", () => {
  const accept = (ip?: string) =>
    api(
      "/api/v1/invitations/accept",
      jsonInit("POST", { token: "not-a-real-invitation-token" }, ip ? { "cf-connecting-ip": ip } : {}),
    );

  afterEach(() => vi.useRealTimers());

  it("counts every attempt from an address, right token or not, then 429; another address is untouched", async () => {
    const ip = "10.250.1.1";
    freezeClock();
    for (let i = 0; i < 10; i++) expect((await accept(ip)).status).toBe(410);
    await expectProblem(await accept(ip), 429, "rate_limited");
    expect((await accept("10.250.1.2")).status).toBe(410);
  });

  it("off Cloudflare (no CF-Connecting-IP) there is no address to meter: callers do not share one bucket", async () => {
    for (let i = 0; i < 12; i++) expect((await accept()).status).toBe(410);
  });
});

/**
 * Freezes `Date` (only `Date`: timers and I/O run as usual), so requests that must share a
 * fixed window of the wall clock do, whenever the test runs. With `alignSeconds` the clock
 * stops one second into the next window of that length (a future one, so no earlier request
 * has counted in it). Answers the frozen time.
 */
function freezeClock(alignSeconds?: number): number {
  const now = Date.now();
  const at = alignSeconds ? (Math.floor(now / (alignSeconds * 1000)) + 1) * alignSeconds * 1000 + 1000 : now;
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(at);
  return at;
}
