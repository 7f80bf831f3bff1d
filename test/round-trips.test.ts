/**
 * The edge's latency is its number of trips to Postgres: every SQL-over-HTTP request the
 * Worker sends before its response is counted here (the driver's fetch, wrapped), and the
 * WebSocket proxy is pointed at a closed port, so a request that opened a Pool connection
 * would fail rather than hide trips. Background work (`waitUntil`) runs after the count.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { neonConfig } from "@neondatabase/serverless";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import worker from "../src/index";
import { clearApiKeyCache } from "../src/services/access/api-keys";
import { clearUserAccessCache } from "../src/services/access/user-access";
import { clearTenantCache } from "../src/services/tenancy/tenant-directory";
import { expectDocumented } from "./support/contract";
import { pools, uniqueSlug } from "./support/db";
import { bearer, createUser, jsonInit, tenantWithRoles, tokenFor } from "./support/fixtures";
import { CLOSED_PORT } from "./support/http";

let trips = 0;
const realFetch = neonConfig.fetchFunction;

beforeAll(() => {
  neonConfig.fetchFunction = (input: RequestInfo | URL, init?: RequestInit) => {
    trips++;
    return fetch(input, init);
  };
});

afterAll(() => {
  neonConfig.fetchFunction = realFetch;
});

/** The response and the Postgres trips taken before it was ready. */
async function measured(path: string, init: RequestInit = {}): Promise<{ res: Response; trips: number }> {
  const ctx = createExecutionContext();
  const request = new Request(new URL(path, "http://localhost"), init);
  const before = trips;
  const res = await worker.fetch(
    request,
    { ...env, NEON_LOCAL_PROXY: `127.0.0.1:${CLOSED_PORT}` } as never,
    ctx,
  );
  const taken = trips - before;
  await expectDocumented(request.method, request.url, res);
  await waitOnExecutionContext(ctx);
  return { res, trips: taken };
}

function coldIsolate(): void {
  clearTenantCache();
  clearUserAccessCache();
  clearApiKeyCache();
}

describe("Postgres round trips per request", () => {
  const db = pools();
  let f: Awaited<ReturnType<typeof tenantWithRoles>>;
  /** A tenant that gets an IP allowlist. */
  let g: Awaited<ReturnType<typeof tenantWithRoles>>;
  let admin: Record<string, string>;
  let apiKey: Record<string, string>;
  let sys: Record<string, string>;
  const seen: string[] = [];

  beforeAll(async () => {
    f = await tenantWithRoles(db.admin, { plan: "enterprise" });
    // Fixtures first: a measured request points the driver's proxy at a closed port.
    g = await tenantWithRoles(db.admin, { plan: "enterprise" });
    admin = bearer(f.users.admin.token);
    const created = await measured(
      "/api/v1/api-keys",
      jsonInit("POST", { name: "trips", role: "admin" }, admin),
    );
    apiKey = { "x-api-key": ((await created.res.json()) as { key: string }).key };
    const root = await createUser(db.admin, { isSystemAdmin: true });
    sys = bearer(await tokenFor(root, null, { isSystemAdmin: true }));
  });

  afterAll(async () => {
    console.info(`round trips: ${seen.join(", ")}`);
    await db.end();
  });

  async function expectTrips(label: string, path: string, init: RequestInit, status: number, most: number) {
    const { res, trips: taken } = await measured(path, init);
    expect(res.status, `${label}: ${await res.clone().text()}`).toBe(status);
    seen.push(`${label}=${taken}`);
    expect(taken, label).toBeLessThanOrEqual(most);
    expect(taken, label).toBeGreaterThan(0);
    return res;
  }

  it("a warm tenant read is one trip, for an API key and for a user's token", async () => {
    await measured("/api/v1/clusters", { headers: apiKey });
    await measured("/api/v1/clusters", { headers: admin });
    await expectTrips("warm read (API key)", "/api/v1/clusters", { headers: apiKey }, 200, 1);
    await expectTrips("warm read (JWT)", "/api/v1/clusters", { headers: admin }, 200, 1);
  });

  it("a cold isolate resolves credential, tenant and membership in one trip, then reads: two", async () => {
    coldIsolate();
    await expectTrips("cold read (API key)", "/api/v1/clusters", { headers: apiKey }, 200, 2);
    coldIsolate();
    await expectTrips("cold read (JWT)", "/api/v1/clusters", { headers: admin }, 200, 2);
    coldIsolate();
    await expectTrips(
      "cold read (JWT + X-Tenant-ID)",
      "/api/v1/members",
      { headers: { ...admin, "x-tenant-id": f.tenant.slug } },
      200,
      2,
    );
  });

  it("daily usage is one read, for a tenant and system-wide, as JSON or CSV", async () => {
    const daily = `/api/v1/tenants/${f.tenant.id}/usage/daily`;
    await measured(daily, { headers: admin }); // warm
    await expectTrips("daily usage", daily, { headers: admin }, 200, 1);
    await expectTrips("daily usage (CSV)", daily, { headers: { ...admin, accept: "text/csv" } }, 200, 1);
    await measured("/api/v1/usage/daily", { headers: sys }); // the system admin's own access, warm
    await expectTrips("daily usage, every tenant", "/api/v1/usage/daily", { headers: sys }, 200, 1);
  });

  it("every single-resource write is one trip, with or without an Idempotency-Key", async () => {
    const write = async (label: string, method: string, path: string, body: unknown, status: number) => {
      // Warm, from cold: the isolate's records are loaded afresh, so none of them reaches its
      // 30 s TTL during the measured write however long the test has run.
      coldIsolate();
      await measured("/api/v1/clusters", { headers: admin });
      return expectTrips(
        label,
        path,
        body === undefined ? { method, headers: admin } : jsonInit(method, body, admin),
        status,
        1,
      );
    };
    const cluster = (await (
      await write(
        "create cluster",
        "POST",
        "/api/v1/clusters",
        { name: "c1", api_server_url: "https://k.example.com", region: "eu" },
        201,
      )
    ).json()) as { id: string };
    await write("patch cluster", "PATCH", `/api/v1/clusters/${cluster.id}`, { region: "us" }, 200);
    await write("delete cluster", "DELETE", `/api/v1/clusters/${cluster.id}`, undefined, 204);
    const plugin = (await (
      await write("create plugin", "POST", "/api/v1/plugins", { name: "p1", version: "1.0.0" }, 201)
    ).json()) as { id: string };
    await write("patch plugin", "PATCH", `/api/v1/plugins/${plugin.id}`, { version: "1.1.0" }, 200);
    await write("delete plugin", "DELETE", `/api/v1/plugins/${plugin.id}`, undefined, 204);
    // The first credential of a tenant also creates its data key; the next ones are one trip.
    await measured(
      "/api/v1/credentials",
      jsonInit("POST", { name: "first", kind: "token", value: "v" }, admin),
    );
    const credential = (await (
      await write(
        "create credential",
        "POST",
        "/api/v1/credentials",
        { name: "s1", kind: "token", value: "secret" },
        201,
      )
    ).json()) as { id: string };
    await write("reveal credential", "POST", `/api/v1/credentials/${credential.id}/reveal`, undefined, 200);
    await write("delete credential", "DELETE", `/api/v1/credentials/${credential.id}`, undefined, 204);
    const key = (await (
      await write("create API key", "POST", "/api/v1/api-keys", { name: "k", role: "viewer" }, 201)
    ).json()) as {
      id: string;
    };
    await write(
      "rotate API key",
      "POST",
      `/api/v1/api-keys/${key.id}/rotate`,
      { grace_period_seconds: 60 },
      200,
    );
    await write("revoke API key", "DELETE", `/api/v1/api-keys/${key.id}`, undefined, 204);
    await write("patch tenant", "PATCH", `/api/v1/tenants/${f.tenant.id}`, { name: "Renamed" }, 200);

    coldIsolate();
    await measured("/api/v1/clusters", { headers: admin }); // warm again after the tenant changed
    const idempotent = { ...admin, "idempotency-key": crypto.randomUUID() };
    const body = { name: "idem", api_server_url: "https://k.example.com", region: "eu" };
    await expectTrips(
      "create cluster, Idempotency-Key",
      "/api/v1/clusters",
      jsonInit("POST", body, idempotent),
      201,
      1,
    );
    // About 30 requests, each waiting for its own metrics flush (one second, in waitUntil):
    // alone it takes 30 s, the default timeout, and more beside other files.
  }, 90_000);

  it("an IP allowlist adds no trip: it travels with the tenant; setting it is one write, a refusal none", async () => {
    const gAdmin = bearer(g.users.admin.token);
    const created = await measured(
      "/api/v1/api-keys",
      jsonInit("POST", { name: "ip", role: "admin" }, gAdmin),
    );
    const key = { "x-api-key": ((await created.res.json()) as { key: string }).key };
    const inside = { ...key, "cf-connecting-ip": "203.0.113.7" };
    await measured(`/api/v1/tenants/${g.tenant.id}`, { headers: sys }); // warm
    await expectTrips(
      "set IP allowlist",
      `/api/v1/tenants/${g.tenant.id}`,
      jsonInit("PATCH", { ip_allowlist: ["203.0.113.0/24"] }, sys),
      200,
      1,
    );
    await measured("/api/v1/clusters", { headers: inside });
    await expectTrips(
      "warm read behind an allowlist (API key)",
      "/api/v1/clusters",
      { headers: inside },
      200,
      1,
    );
    coldIsolate();
    await expectTrips(
      "cold read behind an allowlist (API key)",
      "/api/v1/clusters",
      { headers: inside },
      200,
      2,
    );
    // Refused before any query of its own: only the cold credential lookup travels.
    coldIsolate();
    const outside = { ...key, "cf-connecting-ip": "192.0.2.1" };
    await expectTrips("cold refusal by an allowlist", "/api/v1/clusters", { headers: outside }, 403, 1);
  });

  it("the tenant lifecycle: each change one trip, tenant create two", async () => {
    const slug = uniqueSlug("trips");
    await measured("/api/v1/tenants", { headers: sys }); // the system admin's own access, warm
    const created = await expectTrips(
      "create tenant",
      "/api/v1/tenants",
      jsonInit("POST", { name: "Trips", slug, admin_email: `${slug}@example.test` }, sys),
      201,
      2,
    );
    const { tenant } = (await created.json()) as { tenant: { id: string } };
    const lifecycle = async (label: string, path: string, body: unknown, status: number) =>
      expectTrips(label, path, jsonInit("POST", body, sys), status, 1);
    // The caller's own access is warm after the create; each change is then its batch alone.
    await measured(`/api/v1/tenants/${tenant.id}`, { headers: sys });
    await lifecycle("suspend tenant", `/api/v1/tenants/${tenant.id}/suspend`, { reason: "trips" }, 200);
    await measured(`/api/v1/tenants/${tenant.id}`, { headers: sys });
    await lifecycle("reactivate tenant", `/api/v1/tenants/${tenant.id}/reactivate`, {}, 200);
    await measured(`/api/v1/tenants/${tenant.id}`, { headers: sys });
    await expectTrips(
      "delete tenant",
      `/api/v1/tenants/${tenant.id}`,
      { method: "DELETE", headers: sys },
      202,
      1,
    );
    await measured(`/api/v1/tenants/${tenant.id}`, { headers: sys });
    await lifecycle("restore tenant", `/api/v1/tenants/${tenant.id}/restore`, {}, 200);
  });
});
