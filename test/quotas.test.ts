import { afterAll, describe, expect, it } from "vitest";
import { clearTenantCache } from "../src/services/tenancy/tenant-directory";
import { pools } from "./support/db";
import { api, bearer, jsonInit, tenantWithRoles } from "./support/fixtures";
import { expectProblem } from "./support/problems";

describe("count quotas", () => {
  const db = pools();
  afterAll(() => db.end());

  const createKey = (token: string, name: string) =>
    api("/api/v1/api-keys", jsonInit("POST", { name, role: "viewer" }, bearer(token)));

  it("50 concurrent creates against a limit of 7 leave exactly 7 rows; the rest get quota_exceeded", async () => {
    const f = await tenantWithRoles(db.admin);
    await db.admin.query("update tenants set quota_overrides = $2 where id = $1", [
      f.tenant.id,
      JSON.stringify({ api_keys: 7 }),
    ]);
    const responses = await Promise.all(
      Array.from({ length: 50 }, (_, i) => createKey(f.users.admin.token, `k${i}`)),
    );
    const created = responses.filter((r) => r.status === 201);
    const refused = responses.filter((r) => r.status === 429);
    expect(created).toHaveLength(7);
    expect(refused).toHaveLength(43);
    const body = await expectProblem(refused[0] as Response, 429, "quota_exceeded");
    expect(body).toMatchObject({ quota: "api_keys", limit: 7, used: 7 });
    const { rows } = await db.admin.query<{ n: string }>(
      "select count(*)::text as n from api_keys where tenant_id = $1",
      [f.tenant.id],
    );
    expect(rows[0]?.n).toBe("7");
  });

  it("clusters, plugins and credentials are counted race-free too", async () => {
    const f = await tenantWithRoles(db.admin);
    await db.admin.query("update tenants set quota_overrides = $2 where id = $1", [
      f.tenant.id,
      JSON.stringify({ clusters: 3, plugins: 2, credentials: 1 }),
    ]);
    const bodies: Record<string, (i: number) => Record<string, unknown>> = {
      clusters: (i) => ({ name: `c${i}`, api_server_url: "https://k8s.example", region: "eu" }),
      plugins: (i) => ({ name: `p${i}`, version: "1.0.0" }),
      credentials: (i) => ({ name: `s${i}`, kind: "token", value: "v" }),
    };
    const limits: Record<string, number> = { clusters: 3, plugins: 2, credentials: 1 };
    for (const [resource, body] of Object.entries(bodies)) {
      const responses = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          api(`/api/v1/${resource}`, jsonInit("POST", body(i), bearer(f.users.admin.token))),
        ),
      );
      expect(
        responses.filter((r) => r.status === 201),
        resource,
      ).toHaveLength(limits[resource] as number);
      const refused = responses.filter((r) => r.status === 429);
      expect(refused, resource).toHaveLength(12 - (limits[resource] as number));
      expect(await expectProblem(refused[0] as Response, 429, "quota_exceeded")).toMatchObject({
        quota: resource,
      });
      const { rows } = await db.admin.query<{ n: number }>(
        `select count(*)::int as n from ${resource} where tenant_id = $1`,
        [f.tenant.id],
      );
      expect(rows[0]?.n, resource).toBe(limits[resource]);
    }
  });

  it("a plan downgrade below usage blocks new creates and deletes nothing", async () => {
    const f = await tenantWithRoles(db.admin);
    await db.admin.query("update tenants set plan = 'basic' where id = $1", [f.tenant.id]);
    clearTenantCache();
    const keys: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await createKey(f.users.admin.token, `before-${i}`);
      expect(res.status).toBe(201);
      keys.push(((await res.json()) as { key: string }).key);
    }
    await db.admin.query("update tenants set plan = 'free' where id = $1", [f.tenant.id]);
    clearTenantCache();
    const refused = await createKey(f.users.admin.token, "after");
    const body = await expectProblem(refused, 429, "quota_exceeded");
    expect(body).toMatchObject({ quota: "api_keys", limit: 2, used: 3 });
    for (const key of keys) expect((await api("/api/v1/members", { headers: bearer(key) })).status).toBe(200);
    const usage = await api(`/api/v1/tenants/${f.tenant.slug}/usage`, {
      headers: bearer(f.users.viewer.token),
    });
    const quotas = ((await usage.json()) as { quotas: Record<string, unknown> }).quotas;
    expect(quotas.api_keys).toEqual({ limit: 2, used: 3 });
  });
});
