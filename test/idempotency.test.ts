import { afterAll, describe, expect, it } from "vitest";
import { pools, uniqueSlug } from "./support/db";
import { api, bearer, createUser, jsonInit, tenantWithRoles, tokenFor } from "./support/fixtures";
import { expectProblem } from "./support/problems";

describe("Idempotency-Key on creates", () => {
  const db = pools();
  afterAll(() => db.end());

  const createKey = (token: string, key: string, body: Record<string, unknown>) =>
    api("/api/v1/api-keys", jsonInit("POST", body, { ...bearer(token), "idempotency-key": key }));

  it("replays the first response (same key, tenant and body) and creates once", async () => {
    const f = await tenantWithRoles(db.admin, { plan: "enterprise" });
    const key = crypto.randomUUID();
    const first = await createKey(f.users.admin.token, key, { name: "once", role: "viewer" });
    expect(first.status).toBe(201);
    const firstBody = await first.json();
    const again = await createKey(f.users.admin.token, key, { role: "viewer", name: "once" });
    expect(again.status).toBe(201);
    expect(again.headers.get("idempotency-replayed")).toBe("true");
    expect(await again.json()).toEqual(firstBody);
    const { rows } = await db.admin.query<{ n: number }>(
      "select count(*)::int as n from api_keys where tenant_id = $1 and name = 'once'",
      [f.tenant.id],
    );
    expect(rows[0]?.n).toBe(1);
  });

  it("422 idempotency_key_reused for a different body", async () => {
    const f = await tenantWithRoles(db.admin, { plan: "enterprise" });
    const key = crypto.randomUUID();
    expect((await createKey(f.users.admin.token, key, { name: "a", role: "viewer" })).status).toBe(201);
    await expectProblem(
      await createKey(f.users.admin.token, key, { name: "b", role: "viewer" }),
      422,
      "idempotency_key_reused",
    );
  });

  it("keys are scoped per tenant", async () => {
    const a = await tenantWithRoles(db.admin, { plan: "enterprise" });
    const b = await tenantWithRoles(db.admin, { plan: "enterprise" });
    const key = crypto.randomUUID();
    const ra = await createKey(a.users.admin.token, key, { name: "same", role: "viewer" });
    const rb = await createKey(b.users.admin.token, key, { name: "same", role: "viewer" });
    expect([ra.status, rb.status]).toEqual([201, 201]);
    expect(rb.headers.get("idempotency-replayed")).toBeNull();
    expect(((await ra.json()) as { id: string }).id).not.toBe(((await rb.json()) as { id: string }).id);
  });

  it("concurrent duplicates create one resource", async () => {
    const f = await tenantWithRoles(db.admin, { plan: "enterprise" });
    const key = crypto.randomUUID();
    const responses = await Promise.all(
      Array.from({ length: 8 }, () => createKey(f.users.admin.token, key, { name: "racy", role: "viewer" })),
    );
    const statuses = responses.map((r) => r.status);
    expect(statuses.every((s) => s === 201 || s === 409)).toBe(true);
    expect(statuses).toContain(201);
    const { rows } = await db.admin.query<{ n: number }>(
      "select count(*)::int as n from api_keys where tenant_id = $1 and name = 'racy'",
      [f.tenant.id],
    );
    expect(rows[0]?.n).toBe(1);
  });

  it("is per caller: another admin of the tenant with the same key and body gets a create of their own", async () => {
    const f = await tenantWithRoles(db.admin, { plan: "enterprise" });
    const second = await createUser(db.admin);
    await db.admin.query(
      "insert into tenant_memberships (tenant_id, user_id, role) values ($1, $2, 'admin')",
      [f.tenant.id, second.id],
    );
    const key = crypto.randomUUID();
    const body = { name: "per-caller", role: "viewer" };
    const first = await createKey(f.users.admin.token, key, body);
    expect(first.status).toBe(201);
    const other = await createKey(await tokenFor(second, f.tenant), key, body);
    expect(other.status).toBe(201);
    expect(other.headers.get("idempotency-replayed")).toBeNull();
    const [a, b] = [
      (await first.json()) as { id: string; key: string },
      (await other.json()) as { id: string; key: string },
    ];
    expect(b.id).not.toBe(a.id);
    expect(b.key).not.toBe(a.key);
    const replay = await createKey(f.users.admin.token, key, body);
    expect(replay.headers.get("idempotency-replayed")).toBe("true");
    expect(((await replay.json()) as { id: string }).id).toBe(a.id);
  });

  it("a refused first attempt is not replayed: the retry is judged afresh", async () => {
    const f = await tenantWithRoles(db.admin);
    await db.admin.query("update tenants set quota_overrides = '{\"api_keys\": 0}' where id = $1", [
      f.tenant.id,
    ]);
    const key = crypto.randomUUID();
    await expectProblem(
      await createKey(f.users.admin.token, key, { name: "later", role: "viewer" }),
      429,
      "quota_exceeded",
    );
    await db.admin.query("update tenants set quota_overrides = '{}' where id = $1", [f.tenant.id]);
    const { clearTenantCache } = await import("../src/services/tenancy/tenant-directory");
    clearTenantCache();
    expect((await createKey(f.users.admin.token, key, { name: "later", role: "viewer" })).status).toBe(201);
  });

  it("works for system-level creates (POST /tenants) and stores the secrets sealed", async () => {
    const sys = await createUser(db.admin, { isSystemAdmin: true });
    const headers = {
      ...bearer(await tokenFor(sys, null, { isSystemAdmin: true })),
      "idempotency-key": crypto.randomUUID(),
    };
    const body = { name: "Idem", slug: uniqueSlug("idem"), admin_email: `${uniqueSlug()}@example.test` };
    const first = await api("/api/v1/tenants", jsonInit("POST", body, headers));
    expect(first.status).toBe(201);
    const firstBody = (await first.json()) as {
      api_key: { key: string };
      admin: { temporary_password: string };
    };
    const replay = await api("/api/v1/tenants", jsonInit("POST", body, headers));
    expect(replay.status).toBe(201);
    expect(await replay.json()).toEqual(firstBody);
    const stored = await db.admin.query(
      "select response_body::text as body from idempotency_keys where key = $1",
      [headers["idempotency-key"]],
    );
    const text = String(stored.rows[0]?.body);
    expect(text).not.toContain(firstBody.api_key.key);
    expect(text).not.toContain(firstBody.admin.temporary_password);
  });

  it("rejects malformed keys", async () => {
    const f = await tenantWithRoles(db.admin);
    await expectProblem(
      await createKey(f.users.admin.token, "x".repeat(300), { name: "k", role: "viewer" }),
      400,
      "validation_failed",
    );
  });
});
