import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { RESERVED_SLUG_NAMES } from "../src/db/schema";
import { clock } from "../src/lib/clock";
import { pools } from "./support/db";
import {
  addMember,
  api,
  bearer,
  createTenant,
  createUser,
  type TestUser,
  tenantWithRoles,
  tokenFor,
} from "./support/fixtures";
import { expectProblem } from "./support/problems";

/** Every row of DESIGN.md's tenancy table, through the real fetch entry. */
describe("tenant resolution", () => {
  const db = pools();
  let a: Awaited<ReturnType<typeof tenantWithRoles>>;
  let b: Awaited<ReturnType<typeof tenantWithRoles>>;
  let sysadmin: TestUser;
  let sysToken: string;

  beforeAll(async () => {
    a = await tenantWithRoles(db.admin);
    b = await tenantWithRoles(db.admin);
    sysadmin = await createUser(db.admin, { isSystemAdmin: true });
    sysToken = await tokenFor(sysadmin, null, { isSystemAdmin: true });
  });

  afterEach(() => {
    clock.offsetMs = 0;
  });

  afterAll(() => db.end());

  const members = async (res: Response) => ((await res.json()) as { data: { email: string }[] }).data;

  it("uses the credential tenant when there is no selector", async () => {
    const res = await api("/api/v1/members", { headers: bearer(a.users.viewer.token) });
    expect(res.status).toBe(200);
    expect((await members(res)).map((m) => m.email).sort()).toEqual(
      [a.users.admin.email, a.users.member.email, a.users.viewer.email].sort(),
    );
  });

  it("selects by subdomain (Host header)", async () => {
    const res = await api("/api/v1/members", {
      host: `${a.tenant.slug}.localhost`,
      headers: bearer(a.users.viewer.token),
    });
    expect(res.status).toBe(200);
  });

  it("selects by X-Tenant-ID as slug and as uuid", async () => {
    for (const value of [a.tenant.slug, a.tenant.id, a.tenant.id.toUpperCase()]) {
      const res = await api("/api/v1/members", {
        headers: { ...bearer(a.users.viewer.token), "x-tenant-id": value },
      });
      expect(res.status, value).toBe(200);
    }
  });

  it("accepts subdomain and header naming the same tenant (slug and uuid)", async () => {
    const res = await api("/api/v1/members", {
      host: `${a.tenant.slug}.localhost`,
      headers: { ...bearer(a.users.viewer.token), "x-tenant-id": a.tenant.id },
    });
    expect(res.status).toBe(200);
  });

  it("400 tenant_conflict when subdomain and header differ", async () => {
    const res = await api("/api/v1/members", {
      host: `${a.tenant.slug}.localhost`,
      headers: { ...bearer(a.users.viewer.token), "x-tenant-id": b.tenant.slug },
    });
    await expectProblem(res, 400, "tenant_conflict");
  });

  it("403 tenant_mismatch when the credential's tenant is not the selected one", async () => {
    const byHeader = await api("/api/v1/members", {
      headers: { ...bearer(a.users.admin.token), "x-tenant-id": b.tenant.id },
    });
    await expectProblem(byHeader, 403, "tenant_mismatch");
    const bySubdomain = await api("/api/v1/members", {
      host: `${b.tenant.slug}.localhost`,
      headers: bearer(a.users.admin.token),
    });
    await expectProblem(bySubdomain, 403, "tenant_mismatch");
  });

  it("a mismatching credential learns nothing about whether the selected tenant exists", async () => {
    const unknown = await api("/api/v1/members", {
      headers: { ...bearer(a.users.admin.token), "x-tenant-id": "no-such-tenant-here" },
    });
    await expectProblem(unknown, 403, "tenant_mismatch");
  });

  it("a system admin acts in the selected tenant", async () => {
    const res = await api("/api/v1/members", {
      headers: { ...bearer(sysToken), "x-tenant-id": b.tenant.slug },
    });
    expect(res.status).toBe(200);
    expect((await members(res)).map((m) => m.email)).toContain(b.users.admin.email);
  });

  it("400 tenant_required with neither credential tenant nor selector", async () => {
    const res = await api("/api/v1/members", { headers: bearer(sysToken) });
    await expectProblem(res, 400, "tenant_required");
  });

  it("404 tenant_not_found with one body for unknown and deleted tenants", async () => {
    const deleted = await createTenant(db.admin, { status: "deleted" });
    const bodies = [];
    for (const selector of ["never-existed-tenant", deleted.slug]) {
      const res = await api("/api/v1/members", {
        headers: { ...bearer(sysToken), "x-tenant-id": selector },
        method: "GET",
      });
      const body = await expectProblem(res, 404, "tenant_not_found");
      const { request_id: _, ...rest } = body;
      bodies.push(rest);
    }
    expect(bodies[0]).toEqual(bodies[1]);
  });

  it("404 for the members of a deleted tenant, on their own credential", async () => {
    const tenant = await createTenant(db.admin);
    const user = await createUser(db.admin);
    await addMember(db.admin, tenant, user, "admin");
    await db.admin.query("update tenants set status = 'deleted', deleted_at = now() where id = $1", [
      tenant.id,
    ]);
    const res = await api("/api/v1/members", { headers: bearer(await tokenFor(user, tenant)) });
    await expectProblem(res, 404, "tenant_not_found");
  });

  it("403 tenant_suspended for members; a system admin may still read", async () => {
    const { tenant, users } = await tenantWithRoles(db.admin);
    await db.admin.query("update tenants set status = 'suspended', suspended_at = now() where id = $1", [
      tenant.id,
    ]);
    await expectProblem(
      await api("/api/v1/members", { headers: bearer(users.admin.token) }),
      403,
      "tenant_suspended",
    );
    const asSystem = await api("/api/v1/members", {
      headers: { ...bearer(sysToken), "x-tenant-id": tenant.id },
    });
    expect(asSystem.status).toBe(200);
    const write = await api("/api/v1/api-keys", {
      method: "POST",
      headers: { ...bearer(sysToken), "x-tenant-id": tenant.id, "content-type": "application/json" },
      body: JSON.stringify({ name: "k", role: "viewer" }),
    });
    await expectProblem(write, 403, "tenant_suspended");
  });

  it("a suspension bites within the 30 s cache TTL, not before it is read", async () => {
    const { tenant, users } = await tenantWithRoles(db.admin);
    const call = () => api("/api/v1/members", { headers: bearer(users.viewer.token) });
    expect((await call()).status).toBe(200);
    // Another isolate suspends the tenant: this one still has it cached as active.
    await db.admin.query("update tenants set status = 'suspended' where id = $1", [tenant.id]);
    expect((await call()).status).toBe(200);
    clock.offsetMs = 31_000;
    await expectProblem(await call(), 403, "tenant_suspended");
  });

  it("reserved subdomains are never tenants", async () => {
    // No tenant can hold a reserved name (a CHECK refuses it; see slugs.test.ts), and the
    // subdomain never selects one anyway: the request falls back to the credential tenant
    // instead of failing as a mismatch.
    for (const name of RESERVED_SLUG_NAMES) {
      const res = await api("/api/v1/members", {
        host: `${name}.localhost`,
        headers: bearer(a.users.viewer.token),
      });
      expect(res.status, name).toBe(200);
    }
  });

  it("hosts outside BASE_DOMAIN or deeper than one label are not selectors", async () => {
    for (const host of ["evil.com", `${b.tenant.slug}.evil.com`, `x.${b.tenant.slug}.localhost`]) {
      const res = await api("/api/v1/members", { host, headers: bearer(a.users.viewer.token) });
      expect(res.status, host).toBe(200);
    }
  });

  it("400 validation_failed for an X-Tenant-ID that is neither uuid nor slug", async () => {
    const res = await api("/api/v1/members", {
      headers: { ...bearer(a.users.viewer.token), "x-tenant-id": "' or 1=1 --" },
    });
    await expectProblem(res, 400, "validation_failed");
  });

  it("403 forbidden for a user who is not a member of their token's tenant", async () => {
    const outsider = await createUser(db.admin);
    const res = await api("/api/v1/members", { headers: bearer(await tokenFor(outsider, a.tenant)) });
    await expectProblem(res, 403, "forbidden");
  });
});

/** `/t/{tenant}/api/v1/...`: the third selector, under the same rules as the other two. */
describe("path selection", () => {
  const db = pools();
  let a: Awaited<ReturnType<typeof tenantWithRoles>>;
  let b: Awaited<ReturnType<typeof tenantWithRoles>>;
  let sysToken: string;

  beforeAll(async () => {
    a = await tenantWithRoles(db.admin);
    b = await tenantWithRoles(db.admin);
    const sysadmin = await createUser(db.admin, { isSystemAdmin: true });
    sysToken = await tokenFor(sysadmin, null, { isSystemAdmin: true });
  });

  afterAll(() => db.end());

  const emails = async (res: Response) =>
    ((await res.json()) as { data: { email: string }[] }).data.map((m) => m.email).sort();

  it("reaches the same route with the tenant selected by slug or uuid, with or without a trailing slash", async () => {
    const plain = await emails(await api("/api/v1/members", { headers: bearer(a.users.viewer.token) }));
    for (const url of [
      `/t/${a.tenant.slug}/api/v1/members`,
      `/t/${a.tenant.id}/api/v1/members`,
      `/t/${a.tenant.slug}/api/v1/members/`,
    ]) {
      const res = await api(url, { headers: bearer(a.users.viewer.token) });
      expect(res.status, url).toBe(200);
      expect(await emails(res)).toEqual(plain);
    }
  });

  it("a system admin without a tenant claim selects any tenant by path", async () => {
    const res = await api(`/t/${b.tenant.slug}/api/v1/members`, { headers: bearer(sysToken) });
    expect(res.status).toBe(200);
    expect(await emails(res)).toContain(b.users.admin.email);
  });

  it("must agree with the header and the subdomain: 400 tenant_conflict otherwise", async () => {
    const viewer = bearer(a.users.viewer.token);
    const agreeing = await api(`/t/${a.tenant.slug}/api/v1/members`, {
      headers: { ...viewer, "x-tenant-id": a.tenant.id },
      host: `${a.tenant.slug}.localhost`,
    });
    expect(agreeing.status).toBe(200);
    await expectProblem(
      await api(`/t/${a.tenant.slug}/api/v1/members`, {
        headers: { ...viewer, "x-tenant-id": b.tenant.slug },
      }),
      400,
      "tenant_conflict",
    );
    await expectProblem(
      await api(`/t/${a.tenant.slug}/api/v1/members`, {
        headers: viewer,
        host: `${b.tenant.slug}.localhost`,
      }),
      400,
      "tenant_conflict",
    );
    // `/tenants/{id}` names its tenant twice: both must agree.
    await expectProblem(
      await api(`/t/${a.tenant.slug}/api/v1/tenants/${b.tenant.id}`, { headers: bearer(sysToken) }),
      400,
      "tenant_conflict",
    );
  });

  it("403 tenant_mismatch for a credential of another tenant, before anything about the selected one shows", async () => {
    for (const selector of [b.tenant.slug, "no-such-tenant-here"]) {
      await expectProblem(
        await api(`/t/${selector}/api/v1/members`, { headers: bearer(a.users.admin.token) }),
        403,
        "tenant_mismatch",
      );
    }
  });

  it("404 tenant_not_found for an unknown or malformed tenant, to a system admin", async () => {
    for (const selector of ["no-such-tenant-here", "Not%20A%20Slug", "a"]) {
      await expectProblem(
        await api(`/t/${selector}/api/v1/members`, { headers: bearer(sysToken) }),
        404,
        "tenant_not_found",
      );
    }
  });

  it("only tenant routes live under the prefix: anything else is 404, never served with the selector ignored", async () => {
    const viewer = bearer(a.users.viewer.token);
    await expectProblem(await api(`/t/${a.tenant.slug}/api/v1/me`, { headers: viewer }), 404, "not_found");
    await expectProblem(
      await api(`/t/${a.tenant.slug}/api/v1/tenants`, { headers: bearer(sysToken) }),
      404,
      "not_found",
    );
    for (const url of [`/t/${a.tenant.slug}/health`, `/t/${a.tenant.slug}/console`, "/t/api/v1/members"]) {
      expect((await api(url, { headers: viewer })).status, url).toBe(404);
    }
  });

  it("the OpenAPI document has a second server /t/{tenant}; non-tenant operations name only the root", async () => {
    const doc = (await (await api("/openapi.json")).json()) as {
      servers: Array<{ url: string }>;
      paths: Record<string, Record<string, { servers?: Array<{ url: string }> }>>;
    };
    expect(doc.servers.map((s) => s.url)).toEqual(["/", "/t/{tenant}"]);
    expect(doc.paths["/api/v1/members"]?.get?.servers).toBeUndefined();
    expect(doc.paths["/api/v1/me"]?.get?.servers).toEqual([{ url: "/" }]);
    expect(doc.paths["/health"]?.get?.servers).toEqual([{ url: "/" }]);
  });
});
