import { afterAll, describe, expect, it } from "vitest";
import { hashPassword } from "../src/lib/passwords";
import { clearTenantCache } from "../src/services/tenancy/tenant-directory";
import { pools } from "./support/db";
import { addMember, api, bearer, createTenant, createUser, jsonInit, tokenFor } from "./support/fixtures";
import { systemAdminHeaders } from "./support/populated-tenant";
import { expectProblem } from "./support/problems";

/**
 * Suspended and deleted tenants stay closed on every door, not only on tenant routes:
 * signing in or switching into one, and GET /me with one of its credentials.
 */
describe("suspended and deleted tenants on login, switch and /me", () => {
  const db = pools();
  afterAll(() => db.end());
  const PASSWORD = "a member's own password";
  let ips = 0;
  const ip = () => ({ "cf-connecting-ip": `192.0.2.${(ips++ % 250) + 1}` });

  async function memberOf(...tenants: Array<{ id: string; slug: string }>) {
    const user = await createUser(db.admin, { passwordHash: await hashPassword(PASSWORD) });
    for (const tenant of tenants) await addMember(db.admin, tenant, user, "admin");
    return user;
  }

  const login = (email: string, tenant?: string) =>
    api("/api/v1/auth/login", jsonInit("POST", { email, password: PASSWORD, tenant }, ip()));

  it("login into a suspended tenant is 403 tenant_suspended; without a choice an active one is picked", async () => {
    const suspended = await createTenant(db.admin, { status: "suspended" });
    const active = await createTenant(db.admin);
    const user = await memberOf(suspended, active);
    await expectProblem(await login(user.email, suspended.slug), 403, "tenant_suspended");
    const res = await login(user.email);
    expect(res.status).toBe(200);
    const session = (await res.json()) as {
      tenant: { id: string };
      memberships: Array<{ tenant_id: string; tenant_status: string }>;
    };
    expect(session.tenant.id).toBe(active.id);
    expect(session.memberships.find((m) => m.tenant_id === suspended.id)?.tenant_status).toBe("suspended");
  });

  it("switching into a suspended tenant is 403 tenant_suspended", async () => {
    const suspended = await createTenant(db.admin, { status: "suspended" });
    const active = await createTenant(db.admin);
    const user = await memberOf(suspended, active);
    const res = await api(
      "/api/v1/auth/switch",
      jsonInit("POST", { tenant: suspended.id }, bearer(await tokenFor(user, active))),
    );
    await expectProblem(res, 403, "tenant_suspended");
  });

  it("GET /me with an API key or JWT of a suspended tenant answers like any tenant route", async () => {
    const tenant = await createTenant(db.admin, { plan: "pro" });
    const user = await memberOf(tenant);
    const sys = await systemAdminHeaders(db.admin);
    const created = await api(
      "/api/v1/api-keys",
      jsonInit("POST", { name: "k", role: "viewer" }, { ...sys, "x-tenant-id": tenant.id }),
    );
    const { key } = (await created.json()) as { key: string };
    const jwt = bearer(await tokenFor(user, tenant));
    await db.admin.query("update tenants set status = 'suspended', suspended_at = now() where id = $1", [
      tenant.id,
    ]);
    // The directory caches a tenant's status for up to 30 s per isolate; start from a cold cache.
    clearTenantCache();
    await expectProblem(await api("/api/v1/me", { headers: { "x-api-key": key } }), 403, "tenant_suspended");
    await expectProblem(await api("/api/v1/me", { headers: jwt }), 403, "tenant_suspended");
    await expectProblem(await api("/api/v1/members", { headers: jwt }), 403, "tenant_suspended");
  });

  it("GET /me with a credential of a deleted tenant is 404 tenant_not_found", async () => {
    const tenant = await createTenant(db.admin);
    const user = await memberOf(tenant);
    const jwt = bearer(await tokenFor(user, tenant));
    await db.admin.query("update tenants set status = 'deleted', deleted_at = now() where id = $1", [
      tenant.id,
    ]);
    clearTenantCache();
    await expectProblem(await api("/api/v1/me", { headers: jwt }), 404, "tenant_not_found");
  });

  it("a removed member's still-valid JWT no longer shows that tenant on /me", async () => {
    const tenant = await createTenant(db.admin);
    const user = await memberOf(tenant);
    const jwt = bearer(await tokenFor(user, tenant));
    await db.admin.query("delete from tenant_memberships where tenant_id = $1 and user_id = $2", [
      tenant.id,
      user.id,
    ]);
    const res = await api("/api/v1/me", { headers: jwt });
    expect(res.status).toBe(200);
    const me = (await res.json()) as { tenant: unknown; role: unknown; memberships: unknown[] };
    expect(me).toMatchObject({ tenant: null, role: null, memberships: [] });
  });
});
