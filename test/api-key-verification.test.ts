/**
 * Security item 9: verifying an API key does the same database and cache work whether its
 * slug is unknown, names a deleted tenant or a live one, and whether its secret is right,
 * so neither timing nor load tells an attacker which slugs are tenants.
 *
 * How the work is counted, and why this way: verification talks to Postgres only through
 * Neon's SQL-over-HTTP driver, which sends every round trip with the global `fetch` (it
 * looks `fetch` up at call time), and the local stand-in answers one HTTP request per batch.
 * Wrapping `globalThis.fetch` therefore sees exactly the requests that leave the isolate —
 * what would cross the network to Neon — including the SQL text of every statement in each
 * batch, without trusting any counter the code under test keeps about itself. The
 * stand-in's own counters live in the Node process that runs the backends and are not
 * reachable from workerd. Cache work is counted on `TtlCache.prototype`, so a lookup in
 * ANY per-isolate cache (the tenant directory's included) would show.
 */
import { env } from "cloudflare:workers";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type DatabaseHandle, openDatabase } from "../src/db/client";
import { loadConfig } from "../src/env";
import { clock } from "../src/lib/clock";
import { randomBase62 } from "../src/lib/encoding";
import { Problem } from "../src/lib/problem";
import { TtlCache } from "../src/lib/ttl-cache";
import { authenticateApiKey, generateKey } from "../src/services/access/api-keys";
import { pools, uniqueSlug } from "./support/db";
import { api, createTenant, type TestTenant } from "./support/fixtures";

interface Work {
  /** One entry per HTTP request sent, holding the SQL text of each statement in it. */
  requests: string[][];
  cacheLookups: number;
  cacheStores: number;
}

type Outcome = "verified" | "invalid_token";

describe("API key verification does the same work for every key", () => {
  const db = pools();
  let handle: DatabaseHandle;
  let live: TestTenant & { key: string };
  let deleted: TestTenant & { key: string };

  beforeAll(async () => {
    handle = openDatabase(loadConfig(env));
    live = await tenantWithKey();
    deleted = await tenantWithKey();
    await db.admin.query("update tenants set status = 'deleted', deleted_at = now() where id = $1", [
      deleted.id,
    ]);
  });

  afterAll(async () => {
    await handle.close();
    await db.end();
  });

  async function tenantWithKey(): Promise<TestTenant & { key: string }> {
    const tenant = await createTenant(db.admin);
    const fresh = await generateKey(tenant.slug);
    await db.admin.query(
      "insert into api_keys (tenant_id, name, role, prefix, key_hash) values ($1, 'probe', 'viewer', $2, $3)",
      [tenant.id, fresh.prefix, fresh.hash],
    );
    return { ...tenant, key: fresh.key };
  }

  const randomSecret = () => randomBase62(40);

  /** Runs one verification and records what it cost; the spies call through to the real thing. */
  async function verify(key: string): Promise<{ outcome: Outcome; work: Work }> {
    const fetches = vi.spyOn(globalThis, "fetch");
    const lookups = vi.spyOn(TtlCache.prototype, "get");
    const stores = vi.spyOn(TtlCache.prototype, "set");
    let outcome: Outcome;
    try {
      await authenticateApiKey(handle.http, key);
      outcome = "verified";
    } catch (err) {
      if (!(err instanceof Problem) || err.code !== "invalid_token") throw err;
      outcome = "invalid_token";
    }
    const work = {
      requests: fetches.mock.calls.map(([, init]) => statementsOf(init?.body)),
      cacheLookups: lookups.mock.calls.length,
      cacheStores: stores.mock.calls.length,
    };
    vi.restoreAllMocks();
    return { outcome, work };
  }

  it("unknown slug, deleted tenant, live tenant with a wrong or a right secret: same trips, same statements, same cache work", async () => {
    const cases: Array<[string, string, Outcome]> = [
      ["unknown slug", `uk_${uniqueSlug("nobody")}_${randomSecret()}`, "invalid_token"],
      // Verified here; tenant resolution then answers 404 tenant_not_found, as for no tenant.
      ["deleted tenant, its key", deleted.key, "verified"],
      ["deleted tenant, wrong secret", `uk_${deleted.slug}_${randomSecret()}`, "invalid_token"],
      ["live tenant, wrong secret", `uk_${live.slug}_${randomSecret()}`, "invalid_token"],
      ["live tenant, right prefix, wrong secret", tamper(live.key), "invalid_token"],
      ["live tenant, its key", live.key, "verified"],
    ];
    const cold = new Map<string, Work>();
    const warm = new Map<string, Work>();
    for (const [name, key, expected] of cases) {
      const first = await verify(key);
      const again = await verify(key);
      expect(first.outcome, name).toBe(expected);
      expect(again.outcome, name).toBe(expected);
      cold.set(name, first.work);
      warm.set(name, again.work);
    }
    const [reference] = cold.values();
    // First sight of a key: one HTTP round trip carrying the same four statements (only
    // their parameters differ: the scope, the tenant the slug names, the key, the tenant's
    // row for resolution), one cache lookup that misses, two stores (the verdict and the
    // tenant, refusals and unknown slugs too).
    expect(reference?.requests).toHaveLength(1);
    expect(reference?.requests[0]).toHaveLength(4);
    expect(reference).toMatchObject({ cacheLookups: 1, cacheStores: 2 });
    for (const [name, work] of cold) expect(work, `${name} (cold)`).toEqual(reference);
    // Seen again within the TTL: one cache lookup, no database work, whatever the outcome.
    for (const [name, work] of warm) {
      expect(work, `${name} (cached)`).toEqual({ requests: [], cacheLookups: 1, cacheStores: 0 });
    }
    console.info(
      `verification work per case (cold): ${[...cold]
        .map(
          ([name, w]) =>
            `${name}: ${w.requests.length} trip, ${w.requests[0]?.length} statements, ${w.cacheLookups} lookup`,
        )
        .join("; ")}`,
    );
  });

  it("a key that is not shaped like a key is refused without any work", async () => {
    for (const key of ["uk_short", `uk_${live.slug}_${"!".repeat(40)}`, `uk_Upper_${randomSecret()}`]) {
      const { outcome, work } = await verify(key);
      expect(outcome).toBe("invalid_token");
      expect(work).toEqual({ requests: [], cacheLookups: 0, cacheStores: 0 });
    }
  });

  it("through the Worker, unknown, deleted and live slugs with a wrong secret answer identically", async () => {
    const shapes = new Set<string>();
    for (const slug of [uniqueSlug("nobody"), deleted.slug, live.slug]) {
      const res = await api("/api/v1/members", { headers: { "x-api-key": `uk_${slug}_${randomSecret()}` } });
      const { request_id: _, ...body } = (await res.json()) as Record<string, unknown>;
      shapes.add(JSON.stringify({ status: res.status, body, auth: res.headers.get("www-authenticate") }));
    }
    expect([...shapes]).toHaveLength(1);
    expect(JSON.parse([...shapes][0] as string)).toMatchObject({
      status: 401,
      body: { code: "invalid_token" },
    });
  });

  it("a cached refusal lasts the TTL (30 s) and no longer", async () => {
    const tenant = await createTenant(db.admin);
    const fresh = await generateKey(tenant.slug);
    expect((await verify(fresh.key)).outcome).toBe("invalid_token");
    await db.admin.query(
      "insert into api_keys (tenant_id, name, role, prefix, key_hash) values ($1, 'late', 'viewer', $2, $3)",
      [tenant.id, fresh.prefix, fresh.hash],
    );
    expect((await verify(fresh.key)).outcome).toBe("invalid_token");
    try {
      clock.offsetMs = 31_000;
      expect((await verify(fresh.key)).outcome).toBe("verified");
    } finally {
      clock.offsetMs = 0;
    }
  });
});

/** The SQL texts of one SQL-over-HTTP request body: a single query or a batch of them. */
function statementsOf(body: unknown): string[] {
  if (typeof body !== "string") return [];
  const parsed = JSON.parse(body) as { query?: string; queries?: Array<{ query: string }> };
  return parsed.queries ? parsed.queries.map((q) => q.query) : parsed.query ? [parsed.query] : [];
}

/** The same key with its last characters changed: right prefix, wrong secret. */
function tamper(key: string): string {
  return `${key.slice(0, -4)}${key.endsWith("AAAA") ? "BBBB" : "AAAA"}`;
}
