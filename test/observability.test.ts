import { env } from "cloudflare:workers";
import { afterAll, describe, expect, it, vi } from "vitest";
import { pools, uniqueSlug } from "./support/db";
import { api, bearer, createUser, jsonInit, tenantWithRoles, tokenFor } from "./support/fixtures";
import { expectProblem } from "./support/problems";

async function systemAdmin(db: ReturnType<typeof pools>) {
  const sys = await createUser(db.admin, { isSystemAdmin: true });
  return bearer(await tokenFor(sys, null, { isSystemAdmin: true }));
}

describe("feature flags", () => {
  const db = pools();
  afterAll(() => db.end());

  it("a free tenant has no data_export until an override turns it on", async () => {
    const f = await tenantWithRoles(db.admin);
    const exportIt = () =>
      api(`/api/v1/tenants/${f.tenant.id}/export`, { headers: bearer(f.users.admin.token) });
    const denied = await expectProblem(await exportIt(), 403, "feature_disabled");
    expect(denied).toMatchObject({ feature: "data_export" });
    const me = (await (await api("/api/v1/me", { headers: bearer(f.users.admin.token) })).json()) as {
      tenant: { features: Record<string, boolean> };
    };
    expect(me.tenant.features).toEqual({
      clusters: true,
      plugins: true,
      credentials: true,
      webhooks: true,
      data_export: false,
      sso: false,
    });

    const sys = await systemAdmin(db);
    const patched = await api(
      `/api/v1/tenants/${f.tenant.id}`,
      jsonInit("PATCH", { features: { data_export: true } }, sys),
    );
    expect(((await patched.json()) as { features: Record<string, boolean> }).features.data_export).toBe(true);
    const allowed = await exportIt();
    expect(allowed.status).toBe(200);
    expect(allowed.headers.get("content-type")).toContain("application/x-ndjson");
    await allowed.text();
  });

  it("turning credentials off answers 403 feature_disabled on every credentials route", async () => {
    const f = await tenantWithRoles(db.admin);
    const sys = await systemAdmin(db);
    await api(`/api/v1/tenants/${f.tenant.id}`, jsonInit("PATCH", { features: { credentials: false } }, sys));
    const id = crypto.randomUUID();
    const calls: [string, RequestInit][] = [
      ["/api/v1/credentials", { headers: bearer(f.users.admin.token) }],
      [
        "/api/v1/credentials",
        jsonInit("POST", { name: "x", kind: "token", value: "v" }, bearer(f.users.admin.token)),
      ],
      [`/api/v1/credentials/${id}`, { headers: bearer(f.users.admin.token) }],
      [`/api/v1/credentials/${id}`, { method: "DELETE", headers: bearer(f.users.admin.token) }],
      [`/api/v1/credentials/${id}/reveal`, { method: "POST", headers: bearer(f.users.admin.token) }],
    ];
    for (const [path, init] of calls) {
      const body = await expectProblem(await api(path, init), 403, "feature_disabled");
      expect(body.feature).toBe("credentials");
    }
  });
});

describe("per-API-key rate limit", () => {
  const db = pools();
  afterAll(() => db.end());

  it("adds its own policy on top of the tenant's", async () => {
    const f = await tenantWithRoles(db.admin, { plan: "enterprise" });
    const created = await api(
      "/api/v1/api-keys",
      jsonInit(
        "POST",
        { name: "metered", role: "viewer", rate_limit_per_hour: 2 },
        bearer(f.users.admin.token),
      ),
    );
    const { key, rate_limit_per_hour } = (await created.json()) as {
      key: string;
      rate_limit_per_hour: number;
    };
    expect(rate_limit_per_hour).toBe(2);
    const call = () => api("/api/v1/members", { headers: { "x-api-key": key } });
    const first = await call();
    expect(first.headers.get("ratelimit-policy")).toBe('"tenant";q=1000000;w=3600, "api-key";q=2;w=3600');
    expect(first.headers.get("ratelimit")).toMatch(/^"tenant";r=\d+;t=\d+, "api-key";r=1;t=\d+$/);
    expect((await call()).status).toBe(200);
    const denied = await expectProblem(await call(), 429, "rate_limited");
    expect(denied).toMatchObject({ policies: ["api-key"] });
    // The tenant's other callers are unaffected.
    expect((await api("/api/v1/members", { headers: bearer(f.users.viewer.token) })).status).toBe(200);
  });
});

describe("metrics", () => {
  const db = pools();
  afterAll(() => db.end());

  const scrape = async () => {
    const res = await api("/metrics", { headers: bearer(env.METRICS_TOKEN as string) });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/plain");
    return res.text();
  };

  function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
    const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
    for (const line of text.split("\n")) {
      if (!line.startsWith(`${name}{`)) continue;
      const labelText = line.slice(name.length + 1, line.lastIndexOf("}"));
      if (wanted.every((w) => labelText.split(",").includes(w)))
        return Number(line.slice(line.lastIndexOf(" ") + 1));
    }
    return undefined;
  }

  it("counts a known request mix per tenant, route pattern and status class", async () => {
    const f = await tenantWithRoles(db.admin);
    await db.admin.query(
      'update tenants set quota_overrides = \'{"api_calls_per_hour": 5, "api_keys": 0}\' where id = $1',
      [f.tenant.id],
    );
    for (let i = 0; i < 3; i++) await api("/api/v1/members", { headers: bearer(f.users.viewer.token) });
    await api(`/api/v1/api-keys/${crypto.randomUUID()}`, {
      method: "DELETE",
      headers: bearer(f.users.admin.token),
    });
    await api(
      "/api/v1/api-keys",
      jsonInit("POST", { name: "k", role: "viewer" }, bearer(f.users.admin.token)),
    );
    await api("/api/v1/members", { headers: bearer(f.users.viewer.token) }); // 6th call: rate limited
    const tenant = f.tenant.id;
    const expected: [string, Record<string, string>, number][] = [
      ["tenantry_requests_total", { tenant, route: "GET /api/v1/members", status_class: "2xx" }, 3],
      ["tenantry_requests_total", { tenant, route: "GET /api/v1/members", status_class: "4xx" }, 1],
      ["tenantry_requests_total", { tenant, route: "DELETE /api/v1/api-keys/:id", status_class: "4xx" }, 1],
      ["tenantry_quota_denied_total", { tenant, quota: "api_keys" }, 1],
      ["tenantry_rate_limited_total", { tenant }, 1],
    ];
    // Metrics are written after the response (waitUntil): scrape until they have landed.
    let text = "";
    for (let tries = 0; tries < 100; tries++) {
      text = await scrape();
      if (expected.every(([name, labels, value]) => sample(text, name, labels) === value)) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    for (const [name, labels, value] of expected)
      expect(sample(text, name, labels), `${name} ${JSON.stringify(labels)}`).toBe(value);
    const bucketInf = sample(text, "tenantry_request_duration_seconds_bucket", {
      route: "GET /api/v1/members",
      le: "+Inf",
    });
    const count = sample(text, "tenantry_request_duration_seconds_count", { route: "GET /api/v1/members" });
    expect(bucketInf).toBe(count);
    expect(count).toBeGreaterThanOrEqual(4);
    expect(text).not.toContain(f.users.viewer.token);
  });

  it("is for system admins or the METRICS_TOKEN only", async () => {
    const f = await tenantWithRoles(db.admin);
    await expectProblem(await api("/metrics"), 401, "unauthenticated");
    await expectProblem(await api("/metrics", { headers: bearer(f.users.admin.token) }), 403, "forbidden");
    expect((await api("/metrics", { headers: await systemAdmin(db) })).status).toBe(200);
    await expectProblem(
      await api("/metrics", { headers: bearer("wrong-metrics-token-0000") }),
      401,
      "invalid_token",
    );
  });
});

describe("tenant export", () => {
  const db = pools();
  afterAll(() => db.end());

  it("streams 10,000 rows as NDJSON with none of another tenant's rows", async () => {
    const a = await tenantWithRoles(db.admin, { plan: "basic" });
    const b = await tenantWithRoles(db.admin, { plan: "basic" });
    await db.admin.query(
      `insert into clusters (tenant_id, name, api_server_url, region)
       select $1, 'c-' || g, 'https://k8s.example/' || g, 'eu' from generate_series(1, 10000) g`,
      [a.tenant.id],
    );
    await db.admin.query(
      "insert into clusters (tenant_id, name, api_server_url, region) values ($1, $2, 'https://b.example', 'us')",
      [b.tenant.id, uniqueSlug("b-secret-cluster")],
    );
    const res = await api(`/api/v1/tenants/${a.tenant.slug}/export`, {
      headers: bearer(a.users.admin.token),
    });
    expect(res.status).toBe(200);
    const lines = (await res.text())
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { type: string; data: Record<string, unknown> });
    const byType = (type: string) => lines.filter((l) => l.type === type);
    expect(byType("tenant")).toHaveLength(1);
    expect(byType("member")).toHaveLength(3);
    expect(byType("cluster")).toHaveLength(10_000);
    expect(new Set(byType("cluster").map((l) => l.data.name)).size).toBe(10_000);
    expect(
      lines.every(
        (l) =>
          l.type === "end" ||
          l.type === "tenant" ||
          l.type === "member" ||
          l.data.tenant_id === undefined ||
          l.data.tenant_id === a.tenant.id,
      ),
    ).toBe(true);
    const text = JSON.stringify(lines);
    expect(text).not.toContain(b.tenant.id);
    expect(text).not.toContain("b-secret-cluster");
    expect(text).not.toContain("key_hash");
    expect(text).not.toContain("token_hash");
    expect(lines.at(-1)).toMatchObject({
      type: "end",
      data: { counts: { cluster: 10_000, member: 3, tenant: 1 } },
    });
    const audit = await db.admin.query(
      "select count(*)::int as n from audit_events where tenant_id = $1 and action = 'tenant.exported'",
      [a.tenant.id],
    );
    expect(audit.rows[0]?.n).toBe(1);
  });
});

describe("logs", () => {
  const db = pools();
  afterAll(() => db.end());

  it("one JSON line per request with ids, and no secret anywhere over a full lifecycle", async () => {
    const lines: string[] = [];
    const capture = (...args: unknown[]) => lines.push(args.map(String).join(" "));
    const spies = [
      vi.spyOn(console, "log").mockImplementation(capture),
      vi.spyOn(console, "warn").mockImplementation(capture),
      vi.spyOn(console, "error").mockImplementation(capture),
    ];
    const secrets: string[] = [];
    try {
      const sys = await systemAdmin(db);
      secrets.push(sys.authorization.slice("Bearer ".length));
      const expectJson = async <T>(res: Promise<Response>, status: number): Promise<T> => {
        const response = await res;
        expect(response.status, await response.clone().text()).toBe(status);
        return (await response.json()) as T;
      };
      const created = await expectJson<{
        admin: { email: string; temporary_password: string };
        api_key: { key: string };
      }>(
        api(
          "/api/v1/tenants",
          jsonInit(
            "POST",
            {
              name: "Logs",
              slug: uniqueSlug("logs"),
              plan: "pro",
              admin_email: `${uniqueSlug()}@example.test`,
            },
            sys,
          ),
        ),
        201,
      );
      secrets.push(created.admin.temporary_password, created.api_key.key);
      const first = await expectJson<{ access_token: string }>(
        api(
          "/api/v1/auth/login",
          jsonInit("POST", { email: created.admin.email, password: created.admin.temporary_password }),
        ),
        200,
      );
      secrets.push(first.access_token);
      // A temporary password must be changed before the token does anything else.
      const chosen = `chosen-${crypto.randomUUID()}`;
      secrets.push(chosen);
      const changed = await api(
        "/api/v1/auth/password",
        jsonInit(
          "POST",
          { current_password: created.admin.temporary_password, new_password: chosen },
          bearer(first.access_token),
        ),
      );
      expect(changed.status).toBe(204);
      const login = await expectJson<{ access_token: string }>(
        api("/api/v1/auth/login", jsonInit("POST", { email: created.admin.email, password: chosen })),
        200,
      );
      secrets.push(login.access_token);
      const key = await expectJson<{ key: string }>(
        api(
          "/api/v1/api-keys",
          jsonInit("POST", { name: "second", role: "member" }, bearer(login.access_token)),
        ),
        201,
      );
      secrets.push(key.key);
      const value = `super-secret-credential-${crypto.randomUUID()}`;
      secrets.push(value);
      const credential = await expectJson<{ id: string }>(
        api(
          "/api/v1/credentials",
          jsonInit("POST", { name: "db", kind: "password", value }, bearer(key.key)),
        ),
        201,
      );
      await expectJson(
        api(`/api/v1/credentials/${credential.id}/reveal`, {
          method: "POST",
          headers: bearer(login.access_token),
        }),
        200,
      );
      const invite = await expectJson<{ token: string }>(
        api(
          "/api/v1/invitations",
          jsonInit(
            "POST",
            { email: `${uniqueSlug()}@example.test`, role: "viewer" },
            bearer(login.access_token),
          ),
        ),
        201,
      );
      secrets.push(invite.token);
      const password = `pw-${crypto.randomUUID()}`;
      secrets.push(password);
      await expectJson(
        api(
          "/api/v1/invitations/accept",
          jsonInit("POST", { token: invite.token, password }, { "cf-connecting-ip": "192.0.2.9" }),
        ),
        200,
      );
      await expectJson(
        api(
          "/api/v1/auth/login",
          jsonInit("POST", { email: created.admin.email, password: "wrong-password-here" }),
        ),
        401,
      );
      await new Promise((r) => setTimeout(r, 100));
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
    secrets.push(env.DATABASE_URL, env.JWT_SECRET, env.MASTER_KEY, env.UPSTASH_REDIS_REST_TOKEN);
    const requestLines = lines
      .filter((l) => l.includes('"msg":"request"'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(requestLines.length).toBeGreaterThanOrEqual(8);
    for (const line of requestLines) {
      expect(Object.keys(line)).toEqual(
        expect.arrayContaining([
          "request_id",
          "tenant_id",
          "actor",
          "route",
          "status",
          "duration_ms",
          "rate_limit_remaining",
        ]),
      );
      expect(String(line.route)).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-/);
    }
    const all = lines.join("\n");
    for (const secret of secrets)
      expect(all.includes(secret), `a secret leaked into the logs: ${secret.slice(0, 6)}…`).toBe(false);
  });
});
