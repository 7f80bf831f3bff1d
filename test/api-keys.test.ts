import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { clock } from "../src/lib/clock";
import { sha256Hex } from "../src/lib/encoding";
import { pools } from "./support/db";
import { api, bearer, jsonInit, tenantWithRoles } from "./support/fixtures";
import { expectProblem } from "./support/problems";

interface NewKey {
  id: string;
  name: string;
  role: string;
  prefix: string;
  key: string;
  created_at: string;
  expires_at: string | null;
}

describe("API keys", () => {
  const db = pools();
  let a: Awaited<ReturnType<typeof tenantWithRoles>>;
  let b: Awaited<ReturnType<typeof tenantWithRoles>>;

  beforeAll(async () => {
    a = await tenantWithRoles(db.admin, { plan: "enterprise" });
    b = await tenantWithRoles(db.admin, { plan: "enterprise" });
  });

  afterEach(() => {
    clock.offsetMs = 0;
  });

  afterAll(() => db.end());

  async function createKey(body: Record<string, unknown>, token = a.users.admin.token): Promise<NewKey> {
    const res = await api("/api/v1/api-keys", jsonInit("POST", body, bearer(token)));
    expect(res.status).toBe(201);
    return (await res.json()) as NewKey;
  }

  const members = (key: string, headers: Record<string, string> = {}) =>
    api("/api/v1/members", { headers: { authorization: `Bearer ${key}`, ...headers } });

  it("creates a key shown once, uk_<slug>_<base62 secret>, stored only as a hash", async () => {
    const created = await createKey({ name: "ci", role: "viewer" });
    expect(created.key).toMatch(new RegExp(`^uk_${a.tenant.slug}_[0-9A-Za-z]{32,}$`));
    expect(created.key.startsWith(created.prefix)).toBe(true);
    const { rows } = await db.admin.query("select * from api_keys where id = $1", [created.id]);
    const row = rows[0] as Record<string, unknown>;
    expect(row.key_hash).toBe(await sha256Hex(created.key));
    expect(JSON.stringify(row)).not.toContain(created.key);
    const audit = await db.admin.query(
      "select action, actor_type, actor_id from audit_events where target_id = $1",
      [created.id],
    );
    expect(audit.rows).toEqual([
      { action: "api_key.created", actor_type: "user", actor_id: a.users.admin.id },
    ]);
  });

  it("lists keys without secrets or hashes", async () => {
    const created = await createKey({ name: "listed", role: "member" });
    const res = await api("/api/v1/api-keys?limit=100", { headers: bearer(a.users.admin.token) });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toContain(created.id);
    expect(text).not.toContain(created.key);
    expect(text).not.toContain(await sha256Hex(created.key));
    expect(text).not.toContain("key_hash");
  });

  it("authenticates with Authorization: Bearer and with X-API-Key, carrying its role", async () => {
    const created = await createKey({ name: "auth", role: "viewer" });
    expect((await members(created.key)).status).toBe(200);
    expect((await api("/api/v1/members", { headers: { "x-api-key": created.key } })).status).toBe(200);
    const me = await api("/api/v1/me", { headers: { "x-api-key": created.key } });
    expect(await me.json()).toMatchObject({ auth: "api_key", role: "viewer", tenant: { id: a.tenant.id } });
    const write = await api(
      "/api/v1/api-keys",
      jsonInit("POST", { name: "x", role: "admin" }, { "x-api-key": created.key }),
    );
    await expectProblem(write, 403, "forbidden");
  });

  it("a key of tenant A used with tenant B's selector is 403 tenant_mismatch", async () => {
    const created = await createKey({ name: "cross", role: "admin" });
    await expectProblem(await members(created.key, { "x-tenant-id": b.tenant.slug }), 403, "tenant_mismatch");
    const bySubdomain = await api("/api/v1/members", {
      host: `${b.tenant.slug}.localhost`,
      headers: bearer(created.key),
    });
    await expectProblem(bySubdomain, 403, "tenant_mismatch");
  });

  it("refuses wrong secrets, foreign prefixes, malformed keys and double credentials", async () => {
    const created = await createKey({ name: "probe", role: "viewer" });
    const secret = created.key.slice(`uk_${a.tenant.slug}_`.length);
    const tampered = `${created.key.slice(0, -4)}${created.key.endsWith("AAAA") ? "BBBB" : "AAAA"}`;
    for (const key of [
      tampered,
      `uk_${b.tenant.slug}_${secret}`,
      `uk_no-such-tenant_${secret}`,
      "uk_short",
      `uk_${a.tenant.slug}_${"!".repeat(40)}`,
    ]) {
      await expectProblem(await members(key), 401, "invalid_token");
    }
    const both = await api("/api/v1/members", {
      headers: { authorization: `Bearer ${created.key}`, "x-api-key": created.key },
    });
    await expectProblem(both, 401, "invalid_token");
  });

  it("revocation is immediate in this isolate and within 30 s elsewhere", async () => {
    const here = await createKey({ name: "revoke-here", role: "viewer" });
    expect((await members(here.key)).status).toBe(200);
    const del = await api(`/api/v1/api-keys/${here.id}`, {
      method: "DELETE",
      headers: bearer(a.users.admin.token),
    });
    expect(del.status).toBe(204);
    await expectProblem(await members(here.key), 401, "invalid_token");
    await expectProblem(
      await api(`/api/v1/api-keys/${here.id}`, { method: "DELETE", headers: bearer(a.users.admin.token) }),
      404,
      "not_found",
    );

    const elsewhere = await createKey({ name: "revoke-elsewhere", role: "viewer" });
    expect((await members(elsewhere.key)).status).toBe(200);
    await db.admin.query("update api_keys set revoked_at = now() where id = $1", [elsewhere.id]);
    expect((await members(elsewhere.key)).status).toBe(200);
    clock.offsetMs = 31_000;
    await expectProblem(await members(elsewhere.key), 401, "invalid_token");
  });

  it("rotation issues a new secret; the old one lives only through the grace period", async () => {
    const original = await createKey({ name: "rotating", role: "viewer" });
    const rotate = (grace: number) =>
      api(
        `/api/v1/api-keys/${original.id}/rotate`,
        jsonInit("POST", { grace_period_seconds: grace }, bearer(a.users.admin.token)),
      );
    const res = await rotate(300);
    expect(res.status).toBe(200);
    const rotated = (await res.json()) as NewKey & { previous_key_expires_at: string };
    expect(rotated.id).toBe(original.id);
    expect(rotated.key).not.toBe(original.key);
    expect((await members(rotated.key)).status).toBe(200);
    expect((await members(original.key)).status).toBe(200);
    clock.offsetMs = 301_000;
    await expectProblem(await members(original.key), 401, "invalid_token");
    expect((await members(rotated.key)).status).toBe(200);

    clock.offsetMs = 0;
    const again = (await (await rotate(0)).json()) as NewKey;
    await expectProblem(await members(rotated.key), 401, "invalid_token");
    expect((await members(again.key)).status).toBe(200);
  });

  it("an expired key stops working", async () => {
    const expiresAt = new Date(Date.now() + 120_000).toISOString();
    const created = await createKey({ name: "expiring", role: "viewer", expires_at: expiresAt });
    expect(created.expires_at).toBe(expiresAt);
    expect((await members(created.key)).status).toBe(200);
    clock.offsetMs = 121_000;
    await expectProblem(await members(created.key), 401, "invalid_token");
  });

  it("records last_used_at at most once a minute", async () => {
    const created = await createKey({ name: "used", role: "viewer" });
    const lastUsed = async () =>
      (
        await db.admin.query<{ t: string | null }>(
          "select last_used_at::text as t from api_keys where id = $1",
          [created.id],
        )
      ).rows[0]?.t ?? null;
    await members(created.key);
    const first = await waitFor(lastUsed);
    await members(created.key);
    await new Promise((r) => setTimeout(r, 200));
    expect(await lastUsed()).toBe(first);
    clock.offsetMs = 61_000;
    await members(created.key);
    await waitFor(async () => ((await lastUsed()) !== first ? true : null));
  });

  it("validates create bodies: role, name, past expiry, unknown fields", async () => {
    for (const body of [
      { name: "", role: "viewer" },
      { name: "x", role: "owner" },
      { name: "x", role: "viewer", expires_at: "2001-01-01T00:00:00Z" },
      { name: "x", role: "viewer", tenant_id: b.tenant.id },
    ]) {
      const res = await api("/api/v1/api-keys", jsonInit("POST", body, bearer(a.users.admin.token)));
      await expectProblem(res, 400, "validation_failed");
    }
  });
});

async function waitFor<T>(probe: () => Promise<T | null>, timeoutMs = 3000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== null) return value;
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 50));
  }
}
