import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pools, uniqueSlug } from "./support/db";
import {
  api,
  bearer,
  createUser,
  jsonInit,
  type TestUser,
  tenantWithRoles,
  tokenFor,
} from "./support/fixtures";
import { expectProblem } from "./support/problems";

interface Created {
  tenant: { id: string; slug: string; status: string; plan: string; features: Record<string, boolean> };
  admin: { user_id: string; email: string; temporary_password?: string };
  api_key: { id: string; key: string; role: string };
  provisioning_job: { id: string; kind: string; status: string };
}

describe("tenant lifecycle", () => {
  const db = pools();
  let sys: TestUser;
  let sysHeaders: Record<string, string>;

  beforeAll(async () => {
    sys = await createUser(db.admin, { isSystemAdmin: true });
    sysHeaders = bearer(await tokenFor(sys, null, { isSystemAdmin: true }));
  });

  afterAll(() => db.end());

  async function createTenant(body: Record<string, unknown> = {}): Promise<Created> {
    const res = await api(
      "/api/v1/tenants",
      jsonInit(
        "POST",
        {
          name: "Acme Corp",
          slug: uniqueSlug("acme"),
          admin_email: `${uniqueSlug("a")}@example.test`,
          ...body,
        },
        sysHeaders,
      ),
    );
    expect(res.status, await res.clone().text()).toBe(201);
    return (await res.json()) as Created;
  }

  const jobs = async (tenantId: string) =>
    (
      await db.admin.query<{ kind: string; status: string }>(
        "select kind, status from provisioning_jobs where tenant_id = $1 order by created_at",
        [tenantId],
      )
    ).rows;

  it("creates tenant, first admin (temporary password), admin API key and provision job together", async () => {
    const created = await createTenant({ plan: "pro" });
    expect(created.tenant).toMatchObject({ status: "active", plan: "pro" });
    expect(created.tenant.features).toMatchObject({ data_export: true, sso: true });
    expect(created.admin.temporary_password).toMatch(/^[0-9A-Za-z]{20}$/);
    expect(created.api_key).toMatchObject({ role: "admin" });
    expect(created.api_key.key).toMatch(new RegExp(`^uk_${created.tenant.slug}_`));
    expect(created.provisioning_job).toMatchObject({ kind: "provision", status: "pending" });
    expect(await jobs(created.tenant.id)).toEqual([{ kind: "provision", status: expect.any(String) }]);

    const login = await api(
      "/api/v1/auth/login",
      jsonInit("POST", { email: created.admin.email, password: created.admin.temporary_password }),
    );
    expect(login.status).toBe(200);
    expect(((await login.json()) as { tenant: { id: string; role: string } }).tenant).toMatchObject({
      id: created.tenant.id,
      role: "admin",
    });
    const viaKey = await api("/api/v1/members", { headers: bearer(created.api_key.key) });
    expect(viaKey.status).toBe(200);
    const audit = await db.admin.query(
      "select action from audit_events where tenant_id = $1 order by created_at",
      [created.tenant.id],
    );
    expect(audit.rows.map((r) => r.action).sort()).toEqual(["api_key.created", "tenant.created"]);
  });

  it("makes an existing user the admin without a new password", async () => {
    const existing = await createUser(db.admin);
    const created = await createTenant({ admin_email: existing.email.toUpperCase() });
    expect(created.admin).toEqual({ user_id: existing.id, email: existing.email });
  });

  it("validates slugs: format, reserved names, taken (409 slug_taken)", async () => {
    for (const slug of ["api", "www", "Acme", "a", "-acme", "acme_corp", "x".repeat(41)]) {
      const res = await api(
        "/api/v1/tenants",
        jsonInit("POST", { name: "n", slug, admin_email: "x@example.test" }, sysHeaders),
      );
      await expectProblem(res, 400, "validation_failed");
    }
    const first = await createTenant();
    const again = await api(
      "/api/v1/tenants",
      jsonInit("POST", { name: "dup", slug: first.tenant.slug, admin_email: "dup@example.test" }, sysHeaders),
    );
    await expectProblem(again, 409, "slug_taken");
  });

  it("a failure mid-create leaves no tenant, no user and no job", async () => {
    const slug = uniqueSlug("broken");
    const email = `${uniqueSlug("ghost")}@example.test`;
    // The admin API key cannot fit an api_keys quota of 0: the create fails after the tenant,
    // user and membership rows were written, and everything must roll back.
    const res = await api(
      "/api/v1/tenants",
      jsonInit(
        "POST",
        { name: "Broken", slug, admin_email: email, quota_overrides: { api_keys: 0 } },
        sysHeaders,
      ),
    );
    await expectProblem(res, 429, "quota_exceeded");
    const leftovers = await db.admin.query(
      `select (select count(*) from tenants where slug = $1)::int as tenants,
              (select count(*) from users where email = $2)::int as users,
              (select count(*) from provisioning_jobs j join tenants t on t.id = j.tenant_id where t.slug = $1)::int as jobs`,
      [slug, email],
    );
    expect(leftovers.rows[0]).toEqual({ tenants: 0, users: 0, jobs: 0 });
  });

  it("only system admins create and list tenants; lists filter and paginate", async () => {
    const f = await tenantWithRoles(db.admin);
    await expectProblem(
      await api(
        "/api/v1/tenants",
        jsonInit(
          "POST",
          { name: "n", slug: uniqueSlug(), admin_email: "n@example.test" },
          bearer(f.users.admin.token),
        ),
      ),
      403,
      "forbidden",
    );
    const marker = uniqueSlug("findme");
    const a = await createTenant({ slug: `${marker}-a`, plan: "basic" });
    const b = await createTenant({ slug: `${marker}-b`, plan: "basic" });
    const page1 = await api(`/api/v1/tenants?q=${marker}&plan=basic&limit=1`, { headers: sysHeaders });
    const p1 = (await page1.json()) as { data: { id: string }[]; next_cursor: string };
    expect(p1.data.map((t) => t.id)).toEqual([a.tenant.id]);
    const page2 = await api(`/api/v1/tenants?q=${marker}&plan=basic&limit=1&cursor=${p1.next_cursor}`, {
      headers: sysHeaders,
    });
    const p2 = (await page2.json()) as { data: { id: string }[]; next_cursor: string | null };
    expect(p2.data.map((t) => t.id)).toEqual([b.tenant.id]);
    expect(p2.next_cursor).toBeNull();
    const none = await api(`/api/v1/tenants?q=${marker}&status=suspended`, { headers: sysHeaders });
    expect(((await none.json()) as { data: unknown[] }).data).toEqual([]);
  });

  it("gets a tenant by uuid or slug; its members may read it, others may not", async () => {
    const f = await tenantWithRoles(db.admin);
    const other = await tenantWithRoles(db.admin);
    for (const id of [f.tenant.id, f.tenant.slug]) {
      const res = await api(`/api/v1/tenants/${id}`, { headers: bearer(f.users.viewer.token) });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ id: f.tenant.id, slug: f.tenant.slug });
    }
    await expectProblem(
      await api(`/api/v1/tenants/${f.tenant.id}`, { headers: bearer(other.users.admin.token) }),
      403,
      "tenant_mismatch",
    );
  });

  it("PATCH: tenant admins rename; plan, quotas and features are for system admins and enqueue update_quota", async () => {
    const created = await createTenant();
    const id = created.tenant.id;
    const renamed = await api(
      `/api/v1/tenants/${id}`,
      jsonInit("PATCH", { name: "Renamed", settings: { color: "blue" } }, bearer(created.api_key.key)),
    );
    expect(renamed.status).toBe(200);
    expect(await renamed.json()).toMatchObject({ name: "Renamed", settings: { color: "blue" } });
    await expectProblem(
      await api(`/api/v1/tenants/${id}`, jsonInit("PATCH", { plan: "pro" }, bearer(created.api_key.key))),
      403,
      "forbidden",
    );

    const upgraded = await api(
      `/api/v1/tenants/${id}`,
      jsonInit(
        "PATCH",
        { plan: "pro", quota_overrides: { clusters: 3 }, features: { sso: false } },
        sysHeaders,
      ),
    );
    expect(upgraded.status).toBe(200);
    const body = (await upgraded.json()) as {
      plan: string;
      features: Record<string, boolean>;
      quota_overrides: unknown;
    };
    expect(body).toMatchObject({ plan: "pro", quota_overrides: { clusters: 3 } });
    expect(body.features).toMatchObject({ data_export: true, sso: false });
    expect((await jobs(id)).map((j) => j.kind)).toEqual(["provision", "update_quota"]);
    await expectProblem(
      await api(`/api/v1/tenants/${id}`, jsonInit("PATCH", {}, sysHeaders)),
      400,
      "validation_failed",
    );
    await expectProblem(
      await api(`/api/v1/tenants/${id}`, jsonInit("PATCH", { plan: "platinum" }, sysHeaders)),
      400,
      "validation_failed",
    );
    // A namespace quota travels with every job, whose contract bounds it: more is refused
    // here rather than sent to the provisioner and left dead.
    await expectProblem(
      await api(
        `/api/v1/tenants/${id}`,
        jsonInit("PATCH", { quota_overrides: { cpu_cores: 1_000_001 } }, sysHeaders),
      ),
      400,
      "validation_failed",
    );
    expect((await jobs(id)).map((j) => j.kind)).toEqual(["provision", "update_quota"]);
  });

  it("suspend blocks the tenant at once and enqueues suspend; reactivate enqueues resume", async () => {
    const created = await createTenant();
    const id = created.tenant.id;
    const members = () => api("/api/v1/members", { headers: bearer(created.api_key.key) });
    expect((await members()).status).toBe(200);
    const suspended = await api(
      `/api/v1/tenants/${id}/suspend`,
      jsonInit("POST", { reason: "unpaid invoice" }, sysHeaders),
    );
    expect(suspended.status).toBe(200);
    expect(await suspended.json()).toMatchObject({ status: "suspended", suspend_reason: "unpaid invoice" });
    await expectProblem(await members(), 403, "tenant_suspended");
    await expectProblem(
      await api(`/api/v1/tenants/${id}/suspend`, jsonInit("POST", { reason: "again" }, sysHeaders)),
      409,
      "conflict",
    );
    const reactivated = await api(`/api/v1/tenants/${id}/reactivate`, {
      method: "POST",
      headers: sysHeaders,
    });
    expect(reactivated.status).toBe(200);
    expect((await members()).status).toBe(200);
    expect((await jobs(id)).map((j) => j.kind)).toEqual(["provision", "suspend", "resume"]);
    await expectProblem(
      await api(`/api/v1/tenants/${id}/reactivate`, { method: "POST", headers: sysHeaders }),
      409,
      "conflict",
    );
  });

  it("soft delete answers 202 with purge_after, hides the tenant; restore brings it back", async () => {
    const created = await createTenant();
    const id = created.tenant.id;
    const res = await api(`/api/v1/tenants/${id}`, { method: "DELETE", headers: sysHeaders });
    expect(res.status).toBe(202);
    const body = (await res.json()) as { deleted_at: string; purge_after: string; status: string };
    expect(body.status).toBe("deleted");
    expect(Date.parse(body.purge_after) - Date.parse(body.deleted_at)).toBe(30 * 86_400_000);
    await expectProblem(
      await api("/api/v1/members", { headers: bearer(created.api_key.key) }),
      404,
      "tenant_not_found",
    );
    const asSystem = await api(`/api/v1/tenants/${id}`, { headers: sysHeaders });
    expect(await asSystem.json()).toMatchObject({ status: "deleted", purge_after: body.purge_after });
    expect((await jobs(id)).map((j) => j.kind)).toEqual(["provision"]);
    await expectProblem(
      await api(`/api/v1/tenants/${id}`, { method: "DELETE", headers: sysHeaders }),
      404,
      "tenant_not_found",
    );

    const restored = await api(`/api/v1/tenants/${id}/restore`, { method: "POST", headers: sysHeaders });
    expect(restored.status).toBe(200);
    expect(await restored.json()).toMatchObject({ status: "active", deleted_at: null, purge_after: null });
    expect((await api("/api/v1/members", { headers: bearer(created.api_key.key) })).status).toBe(200);
    await expectProblem(
      await api(`/api/v1/tenants/${id}/restore`, { method: "POST", headers: sysHeaders }),
      409,
      "conflict",
    );
  });

  it("restore is refused after the retention period", async () => {
    const created = await createTenant();
    await api(`/api/v1/tenants/${created.tenant.id}`, { method: "DELETE", headers: sysHeaders });
    await db.admin.query("update tenants set deleted_at = now() - interval '31 days' where id = $1", [
      created.tenant.id,
    ]);
    await expectProblem(
      await api(`/api/v1/tenants/${created.tenant.id}/restore`, { method: "POST", headers: sysHeaders }),
      409,
      "conflict",
    );
  });

  it("the default tenant cannot be deleted", async () => {
    await expectProblem(
      await api("/api/v1/tenants/default", { method: "DELETE", headers: sysHeaders }),
      409,
      "default_tenant_protected",
    );
  });
});
