import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashPassword } from "../src/lib/passwords";
import { clearRecordedRefusals } from "../src/services/tenancy/ip-allowlist";
import { pools } from "./support/db";
import { api, bearer, createUser, jsonInit, tenantWithRoles, tokenFor } from "./support/fixtures";
import { expectProblem } from "./support/problems";
import { eventually } from "./support/provisioner";

/**
 * Per-tenant IP allowlists through the real fetch entry: the client address is the
 * `CF-Connecting-IP` header, as Cloudflare's edge sets it.
 */
const INSIDE = "203.0.113.7";
const OUTSIDE = "192.0.2.10";
const from = (ip: string | null, headers: Record<string, string>) =>
  ip === null ? headers : { ...headers, "cf-connecting-ip": ip };

interface TenantBody {
  ip_allowlist: string[];
  ip_allowlist_applies_to: string;
}

describe("IP allowlists", () => {
  const db = pools();
  let sys: Record<string, string>;
  const PASSWORD = "allowlist-test-password";

  beforeAll(async () => {
    const root = await createUser(db.admin, { isSystemAdmin: true });
    sys = bearer(await tokenFor(root, null, { isSystemAdmin: true }));
  });

  afterAll(() => db.end());

  /** A tenant with an admin user, a member user and an admin API key. */
  async function tenant() {
    const f = await tenantWithRoles(db.admin, { plan: "enterprise" });
    const admin = bearer(f.users.admin.token);
    const created = await api("/api/v1/api-keys", jsonInit("POST", { name: "ci", role: "admin" }, admin));
    expect(created.status).toBe(201);
    const key = { "x-api-key": ((await created.json()) as { key: string }).key };
    return { ...f, admin, member: bearer(f.users.member.token), key };
  }

  const patch = (id: string, body: unknown, headers: Record<string, string>) =>
    api(`/api/v1/tenants/${id}`, jsonInit("PATCH", body, headers));

  async function setList(id: string, body: Record<string, unknown>): Promise<TenantBody> {
    const res = await patch(id, body, sys);
    expect(res.status, await res.clone().text()).toBe(200);
    return (await res.json()) as TenantBody;
  }

  const auditRows = async (tenantId: string, action: string) =>
    (
      await db.admin.query<{ ip: string | null; actor_type: string; meta: Record<string, unknown> }>(
        "select ip, actor_type, meta from audit_events where tenant_id = $1 and action = $2 order by created_at",
        [tenantId, action],
      )
    ).rows;

  it("a tenant admin sets a list: normalised, de-duplicated, shown on the tenant, exported and audited", async () => {
    const f = await tenant();
    const res = await patch(
      f.tenant.id,
      {
        ip_allowlist: [
          "203.0.113.7",
          "2001:DB8:0::/32",
          " 198.51.100.0/24",
          "203.0.113.7/32",
          "::ffff:10.0.0.0/104",
        ],
      },
      from(INSIDE, f.admin),
    );
    expect(res.status, await res.clone().text()).toBe(200);
    const expected = ["203.0.113.7/32", "2001:db8::/32", "198.51.100.0/24", "10.0.0.0/8"];
    expect(await res.json()).toMatchObject({ ip_allowlist: expected, ip_allowlist_applies_to: "api_keys" });
    const read = await api(`/api/v1/tenants/${f.tenant.slug}`, { headers: from(INSIDE, f.admin) });
    expect(await read.json()).toMatchObject({ ip_allowlist: expected });

    const exported = await api(`/api/v1/tenants/${f.tenant.id}/export`, { headers: from(INSIDE, f.admin) });
    expect(exported.status).toBe(200);
    const lines = new TextDecoder().decode(await exported.arrayBuffer()).split("\n");
    const first = JSON.parse(lines[0] as string);
    expect(first).toMatchObject({
      type: "tenant",
      data: { ip_allowlist: expected, ip_allowlist_applies_to: "api_keys" },
    });

    const [audit] = await auditRows(f.tenant.id, "tenant.updated");
    expect(audit).toMatchObject({
      actor_type: "user",
      ip: INSIDE,
      meta: { fields: ["ip_allowlist"], ip_allowlist: expected },
    });
    expect(audit?.meta.forced).toBeUndefined();
  });

  it("an API key from outside is 403 ip_not_allowed, audited once per address a minute; from inside it passes", async () => {
    const f = await tenant();
    await setList(f.tenant.id, { ip_allowlist: ["203.0.113.0/24", "2001:db8::/32"] });
    const refuse = async (ip: string) => {
      const body = await expectProblem(
        await api("/api/v1/members", { headers: from(ip, f.key) }),
        403,
        "ip_not_allowed",
      );
      expect(body.detail).toContain(ip);
    };
    const refusals = (n: number) =>
      eventually(async () => {
        const rows = await auditRows(f.tenant.id, "tenant.ip_refused");
        return rows.length >= n ? rows : undefined;
      });
    await refuse(OUTSIDE);
    await refuse(OUTSIDE);
    await refusals(1);
    // Another isolate (no memory of the first refusal) learns it from Redis.
    clearRecordedRefusals();
    await refuse(OUTSIDE);
    await refuse("2001:db9::1");
    const events = await refusals(2);
    // The records are written after the response: give a duplicate time to appear.
    await new Promise((r) => setTimeout(r, 300));
    expect(await auditRows(f.tenant.id, "tenant.ip_refused")).toHaveLength(2);
    expect(events.map((e) => e.ip).sort()).toEqual(["192.0.2.10", "2001:db9::1"]);
    expect(events[0]).toMatchObject({
      actor_type: "api_key",
      meta: { applies_to: "api_keys", route: "GET /api/v1/members" },
    });

    for (const ip of ["203.0.113.99", "2001:db8:ffff::1", "::ffff:203.0.113.5"]) {
      const res = await api("/api/v1/members", { headers: from(ip, f.key) });
      expect(res.status, ip).toBe(200);
    }
  });

  it("fails closed: with a list, an API key request without a client address is refused", async () => {
    const f = await tenant();
    expect((await api("/api/v1/members", { headers: f.key })).status).toBe(200);
    await setList(f.tenant.id, { ip_allowlist: [INSIDE] });
    const body = await expectProblem(await api("/api/v1/members", { headers: f.key }), 403, "ip_not_allowed");
    expect(body.detail).toContain("no client address");
  });

  it("`api_keys` leaves users' tokens alone; `all` gates them too, never login or /me", async () => {
    const f = await tenant();
    const user = await createUser(db.admin, { passwordHash: await hashPassword(PASSWORD) });
    await db.admin.query(
      "insert into tenant_memberships (tenant_id, user_id, role) values ($1, $2, 'viewer')",
      [f.tenant.id, user.id],
    );
    await setList(f.tenant.id, { ip_allowlist: ["203.0.113.0/24"] });
    expect((await api("/api/v1/members", { headers: from(OUTSIDE, f.member) })).status).toBe(200);

    const all = await patch(f.tenant.id, { ip_allowlist_applies_to: "all" }, from(INSIDE, f.admin));
    expect(all.status, await all.clone().text()).toBe(200);
    await expectProblem(
      await api("/api/v1/members", { headers: from(OUTSIDE, f.member) }),
      403,
      "ip_not_allowed",
    );
    expect((await api("/api/v1/members", { headers: from(INSIDE, f.member) })).status).toBe(200);

    const login = await api(
      "/api/v1/auth/login",
      jsonInit("POST", { email: user.email, password: PASSWORD, tenant: f.tenant.slug }, from(OUTSIDE, {})),
    );
    expect(login.status, await login.clone().text()).toBe(200);
    const token = bearer(((await login.json()) as { access_token: string }).access_token);
    expect((await api("/api/v1/me", { headers: from(OUTSIDE, token) })).status).toBe(200);
    await expectProblem(
      await api("/api/v1/members", { headers: from(OUTSIDE, token) }),
      403,
      "ip_not_allowed",
    );
    const [event] = await eventually(async () => {
      const rows = await auditRows(f.tenant.id, "tenant.ip_refused");
      return rows.length > 0 ? rows : undefined;
    });
    expect(event).toMatchObject({ actor_type: "user", ip: OUTSIDE, meta: { applies_to: "all" } });
  });

  it("system admins are exempt: from outside, and without any address", async () => {
    const f = await tenant();
    await setList(f.tenant.id, { ip_allowlist: [INSIDE], ip_allowlist_applies_to: "all" });
    expect((await api(`/api/v1/tenants/${f.tenant.id}`, { headers: from(OUTSIDE, sys) })).status).toBe(200);
    expect((await api("/api/v1/members", { headers: { ...sys, "x-tenant-id": f.tenant.id } })).status).toBe(
      200,
    );
    const cleared = await patch(f.tenant.id, { ip_allowlist: [] }, sys);
    expect(cleared.status).toBe(200);
    expect((await cleared.json()) as TenantBody).toMatchObject({ ip_allowlist: [] });
    expect((await api("/api/v1/members", { headers: f.key })).status).toBe(200);
  });

  it("a change that would lock its caller out is 409 ip_allowlist_excludes_caller unless forced", async () => {
    const f = await tenant();
    const lockOut = { ip_allowlist: ["198.51.100.0/24"] };
    const refused = await patch(f.tenant.id, lockOut, from(OUTSIDE, f.key));
    const body = await expectProblem(refused, 409, "ip_allowlist_excludes_caller");
    expect(body.detail).toContain(OUTSIDE);
    expect(body.detail).toContain('"force": true');
    // No address at all: the list would refuse it too.
    await expectProblem(await patch(f.tenant.id, lockOut, f.key), 409, "ip_allowlist_excludes_caller");
    expect(
      (await db.admin.query("select ip_allowlist from tenants where id = $1", [f.tenant.id])).rows,
    ).toEqual([{ ip_allowlist: [] }]);
    // A user is gated only under `all`: a list for API keys does not lock the admin user out.
    expect((await patch(f.tenant.id, lockOut, from(OUTSIDE, f.admin))).status).toBe(200);
    await expectProblem(
      await patch(f.tenant.id, { ip_allowlist_applies_to: "all" }, from(OUTSIDE, f.admin)),
      409,
      "ip_allowlist_excludes_caller",
    );
    const including = await patch(
      f.tenant.id,
      { ip_allowlist: ["198.51.100.0/24", OUTSIDE], ip_allowlist_applies_to: "all" },
      from(OUTSIDE, f.admin),
    );
    expect(including.status, await including.clone().text()).toBe(200);

    const forced = await patch(
      f.tenant.id,
      { ip_allowlist: ["198.51.100.0/24"], force: true },
      from(OUTSIDE, f.admin),
    );
    expect(forced.status, await forced.clone().text()).toBe(200);
    await expectProblem(
      await api("/api/v1/members", { headers: from(OUTSIDE, f.admin) }),
      403,
      "ip_not_allowed",
    );
    const audits = await auditRows(f.tenant.id, "tenant.updated");
    expect(audits.at(-1)?.meta).toMatchObject({ fields: ["ip_allowlist"], forced: true });
  });

  it("a change checked against a stale tenant is 409 conflict, not a lock-out", async () => {
    const f = await tenant();
    await setList(f.tenant.id, { ip_allowlist: [INSIDE] });
    // Another isolate narrows the list; this one still holds the tenant as it was.
    await db.admin.query(`update tenants set ip_allowlist = '["198.51.100.0/24"]' where id = $1`, [
      f.tenant.id,
    ]);
    const res = await patch(f.tenant.id, { ip_allowlist_applies_to: "all" }, from(INSIDE, f.admin));
    const body = await expectProblem(res, 409, "conflict");
    expect(body.detail).toContain("changed meanwhile");
    const { rows } = await db.admin.query("select ip_allowlist_applies_to from tenants where id = $1", [
      f.tenant.id,
    ]);
    expect(rows).toEqual([{ ip_allowlist_applies_to: "api_keys" }]);
  });

  it("validates the list: at most 100 prefixes, each a prefix without host bits, errors naming the index", async () => {
    const f = await tenant();
    const hundred = Array.from({ length: 100 }, (_, i) => `10.0.${i}.0/24`);
    const ok = await patch(f.tenant.id, { ip_allowlist: hundred }, from(INSIDE, f.admin));
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as TenantBody).ip_allowlist).toHaveLength(100);

    const cases: Array<[unknown, string, RegExp]> = [
      [{ ip_allowlist: [...hundred, "10.1.0.0/24"] }, "ip_allowlist", /100/],
      [
        { ip_allowlist: ["10.0.0.0/8", "2001:db8::/32", "300.1.2.3/32"] },
        "ip_allowlist.2",
        /Not an IPv4 or IPv6/,
      ],
      [{ ip_allowlist: ["10.1.2.3/8"] }, "ip_allowlist.0", /host bits.*10\.0\.0\.0\/8/],
      [{ ip_allowlist: ["2001:db8::1/32"] }, "ip_allowlist.0", /host bits.*2001:db8::\/32/],
      [{ ip_allowlist: ["10.0.0.0/33"] }, "ip_allowlist.0", /0 to 32/],
      [{ ip_allowlist: ["2001:db8::/129"] }, "ip_allowlist.0", /0 to 128/],
      [{ ip_allowlist: ["fe80::1%eth0"] }, "ip_allowlist.0", /Not an IPv4 or IPv6/],
      [{ ip_allowlist: ["example.com"] }, "ip_allowlist.0", /Not an IPv4 or IPv6/],
      [{ ip_allowlist: [42] }, "ip_allowlist.0", /string/],
      [{ ip_allowlist: "10.0.0.0/8" }, "ip_allowlist", /array/],
      [{ ip_allowlist_applies_to: "everyone" }, "ip_allowlist_applies_to", /api_keys/],
      [{ force: true }, "", /at least one field/],
      [{ name: "Renamed", force: true }, "force", /force applies only/],
    ];
    for (const [body, path, message] of cases) {
      const res = await patch(f.tenant.id, body, from(INSIDE, f.admin));
      const problem = await expectProblem(res, 400, "validation_failed");
      const errors = problem.errors ?? [];
      expect(
        errors.some((e) => e.path === path && message.test(e.message)),
        `${JSON.stringify(body)}: ${JSON.stringify(errors)}`,
      ).toBe(true);
    }
    const ipv6 = await patch(
      f.tenant.id,
      { ip_allowlist: ["2001:0DB8:0000:0000:0000:0000:0000:0000/32", "::1", "fe80::/10"] },
      from(INSIDE, f.admin),
    );
    expect(((await ipv6.json()) as TenantBody).ip_allowlist).toEqual([
      "2001:db8::/32",
      "::1/128",
      "fe80::/10",
    ]);
  });

  it("tenant B's list does not reach tenant A, from the same address", async () => {
    const a = await tenant();
    const b = await tenant();
    await setList(b.tenant.id, { ip_allowlist: ["198.51.100.0/24"], ip_allowlist_applies_to: "all" });
    expect((await api("/api/v1/members", { headers: from(OUTSIDE, a.key) })).status).toBe(200);
    expect((await api("/api/v1/members", { headers: from(OUTSIDE, a.admin) })).status).toBe(200);
    await expectProblem(
      await api("/api/v1/members", { headers: from(OUTSIDE, b.key) }),
      403,
      "ip_not_allowed",
    );
    await eventually(async () =>
      (await auditRows(b.tenant.id, "tenant.ip_refused")).length > 0 ? true : undefined,
    );
    expect(await auditRows(a.tenant.id, "tenant.ip_refused")).toEqual([]);
    const aRead = await api(`/api/v1/tenants/${a.tenant.id}`, { headers: from(OUTSIDE, a.admin) });
    expect(await aRead.json()).toMatchObject({ ip_allowlist: [], ip_allowlist_applies_to: "api_keys" });
  });

  it("every tenant-scoped operation declares 403 ip_not_allowed; PATCH /tenants/{id} declares 409 ip_allowlist_excludes_caller", async () => {
    const doc = (await (await api("/openapi.json")).json()) as {
      paths: Record<
        string,
        Record<string, { security?: unknown; responses: Record<string, { description: string }> }>
      >;
    };
    expect(doc.paths["/api/v1/members"]?.get?.responses["403"]?.description).toContain("`ip_not_allowed`");
    expect(doc.paths["/api/v1/tenants/{id}"]?.patch?.responses["409"]?.description).toContain(
      "`ip_allowlist_excludes_caller`",
    );
    expect(doc.paths["/api/v1/auth/login"]?.post?.responses["403"]?.description ?? "").not.toContain(
      "ip_not_allowed",
    );
  });
});
