import { afterAll, describe, expect, it } from "vitest";
import { pools } from "./support/db";
import {
  addMember,
  api,
  bearer,
  createTenant,
  createUser,
  jsonInit,
  tenantWithRoles,
  tokenFor,
} from "./support/fixtures";
import { expectProblem } from "./support/problems";

describe("members", () => {
  const db = pools();
  afterAll(() => db.end());

  it("admins change roles; the change applies to the member's next request", async () => {
    const f = await tenantWithRoles(db.admin);
    const write = () =>
      api(
        "/api/v1/invitations",
        jsonInit("POST", { email: "x@example.test", role: "viewer" }, bearer(f.users.member.token)),
      );
    await expectProblem(await write(), 403, "forbidden");
    const res = await api(
      `/api/v1/members/${f.users.member.id}`,
      jsonInit("PATCH", { role: "admin" }, bearer(f.users.admin.token)),
    );
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ user_id: f.users.member.id, role: "admin" });
    expect((await write()).status).toBe(201);
  });

  it("the last admin can be neither demoted nor removed (409 last_admin)", async () => {
    const f = await tenantWithRoles(db.admin);
    const admin = f.users.admin;
    await expectProblem(
      await api(`/api/v1/members/${admin.id}`, jsonInit("PATCH", { role: "member" }, bearer(admin.token))),
      409,
      "last_admin",
    );
    await expectProblem(
      await api(`/api/v1/members/${admin.id}`, { method: "DELETE", headers: bearer(admin.token) }),
      409,
      "last_admin",
    );
  });

  it("two concurrent demotions of the last two admins leave exactly one admin", async () => {
    const tenant = await createTenant(db.admin);
    const admins = [];
    for (let i = 0; i < 2; i++) {
      const user = await createUser(db.admin);
      await addMember(db.admin, tenant, user, "admin");
      admins.push({ ...user, token: await tokenFor(user, tenant) });
    }
    const [x, y] = admins as [(typeof admins)[0], (typeof admins)[0]];
    const results = await Promise.all([
      api(`/api/v1/members/${x.id}`, jsonInit("PATCH", { role: "viewer" }, bearer(y.token))),
      api(`/api/v1/members/${y.id}`, jsonInit("PATCH", { role: "viewer" }, bearer(x.token))),
    ]);
    const statuses = results.map((r) => r.status).sort();
    expect(statuses[0]).toBe(200);
    expect([403, 409]).toContain(statuses[1]);
    const { rows } = await db.admin.query<{ n: number }>(
      "select count(*)::int as n from tenant_memberships where tenant_id = $1 and role = 'admin'",
      [tenant.id],
    );
    expect(rows[0]?.n).toBe(1);
  });

  it("removes a member, who then loses access", async () => {
    const f = await tenantWithRoles(db.admin);
    expect((await api("/api/v1/members", { headers: bearer(f.users.viewer.token) })).status).toBe(200);
    const res = await api(`/api/v1/members/${f.users.viewer.id}`, {
      method: "DELETE",
      headers: bearer(f.users.admin.token),
    });
    expect(res.status).toBe(204);
    await expectProblem(
      await api("/api/v1/members", { headers: bearer(f.users.viewer.token) }),
      403,
      "forbidden",
    );
    await expectProblem(
      await api(`/api/v1/members/${f.users.viewer.id}`, {
        method: "DELETE",
        headers: bearer(f.users.admin.token),
      }),
      404,
      "not_found",
    );
    const audit = await db.admin.query(
      "select action from audit_events where tenant_id = $1 and target_id = $2",
      [f.tenant.id, f.users.viewer.id],
    );
    expect(audit.rows.map((r) => r.action)).toEqual(["member.removed"]);
  });
});

describe("invitations", () => {
  const db = pools();
  afterAll(() => db.end());

  const invite = (token: string, email: string, role = "member") =>
    api("/api/v1/invitations", jsonInit("POST", { email, role }, bearer(token)));
  const accept = (body: Record<string, unknown>, ip = `203.0.113.${Math.floor(Math.random() * 250)}`) =>
    api("/api/v1/invitations/accept", jsonInit("POST", body, { "cf-connecting-ip": ip }));

  it("invite → accept creates the user and membership and returns a token; reuse is 410", async () => {
    const f = await tenantWithRoles(db.admin);
    const email = `new-${crypto.randomUUID()}@example.test`;
    const created = await invite(f.users.admin.token, email);
    expect(created.status).toBe(201);
    const { invitation, token } = (await created.json()) as {
      invitation: { id: string; expires_at: string };
      token: string;
    };
    expect(token).toMatch(/^inv_[0-9A-Za-z]{40}$/);
    expect(Date.parse(invitation.expires_at) - Date.now()).toBeGreaterThan(6.9 * 86_400_000);
    const stored = await db.admin.query("select token_hash from invitations where id = $1", [invitation.id]);
    expect(stored.rows[0]?.token_hash).not.toContain(token);

    const pending = await api("/api/v1/invitations", { headers: bearer(f.users.admin.token) });
    expect(((await pending.json()) as { data: { id: string }[] }).data.map((i) => i.id)).toContain(
      invitation.id,
    );

    const accepted = await accept({ token, name: "New Person", password: "a long enough password" });
    expect(accepted.status).toBe(200);
    const body = (await accepted.json()) as {
      access_token: string;
      membership: { tenant_id: string; role: string };
    };
    expect(body.membership).toMatchObject({ tenant_id: f.tenant.id, role: "member" });
    expect((await api("/api/v1/members", { headers: bearer(body.access_token) })).status).toBe(200);
    const login = await api(
      "/api/v1/auth/login",
      jsonInit("POST", { email, password: "a long enough password" }),
    );
    expect(login.status).toBe(200);

    await expectProblem(
      await accept({ token, password: "a long enough password" }),
      410,
      "invitation_expired",
    );
    await expectProblem(await invite(f.users.admin.token, email), 409, "conflict");
    // A member is a member whatever the letter case of their email.
    await expectProblem(await invite(f.users.admin.token, email.toUpperCase()), 409, "conflict");
  });

  it("an existing user joins only with proof of the account (their own token), keeping their password", async () => {
    const f = await tenantWithRoles(db.admin);
    const existing = await createUser(db.admin);
    const { token } = (await (await invite(f.users.admin.token, existing.email, "viewer")).json()) as {
      token: string;
    };
    await expectProblem(await accept({ token }), 401, "unauthenticated");
    const accepted = await api(
      "/api/v1/invitations/accept",
      jsonInit("POST", { token }, bearer(await tokenFor(existing, null))),
    );
    expect(accepted.status).toBe(200);
    expect(await accepted.json()).toMatchObject({ user_id: existing.id, membership: { role: "viewer" } });
    const { rows } = await db.admin.query("select password_hash from users where id = $1", [existing.id]);
    expect(rows[0]?.password_hash).toBeNull();
  });

  it("a new user must choose a password", async () => {
    const f = await tenantWithRoles(db.admin);
    const { token } = (await (
      await invite(f.users.admin.token, `np-${crypto.randomUUID()}@example.test`)
    ).json()) as {
      token: string;
    };
    await expectProblem(await accept({ token }), 400, "validation_failed");
  });

  it("revoked and expired invitations answer 410 invitation_expired", async () => {
    const f = await tenantWithRoles(db.admin);
    const first = (await (
      await invite(f.users.admin.token, `r-${crypto.randomUUID()}@example.test`)
    ).json()) as {
      invitation: { id: string };
      token: string;
    };
    const revoke = await api(`/api/v1/invitations/${first.invitation.id}`, {
      method: "DELETE",
      headers: bearer(f.users.admin.token),
    });
    expect(revoke.status).toBe(204);
    await expectProblem(
      await accept({ token: first.token, password: "a long enough password" }),
      410,
      "invitation_expired",
    );

    const second = (await (
      await invite(f.users.admin.token, `e-${crypto.randomUUID()}@example.test`)
    ).json()) as {
      invitation: { id: string };
      token: string;
    };
    await db.admin.query("update invitations set expires_at = now() - interval '1 minute' where id = $1", [
      second.invitation.id,
    ]);
    await expectProblem(
      await accept({ token: second.token, password: "a long enough password" }),
      410,
      "invitation_expired",
    );
    await expectProblem(
      await accept({ token: "inv_unknown", password: "a long enough password" }),
      410,
      "invitation_expired",
    );
  });

  it("pending invitations count against the members quota", async () => {
    const f = await tenantWithRoles(db.admin); // free plan: 5 members, 3 taken
    expect((await invite(f.users.admin.token, `q1-${crypto.randomUUID()}@example.test`)).status).toBe(201);
    expect((await invite(f.users.admin.token, `q2-${crypto.randomUUID()}@example.test`)).status).toBe(201);
    const over = await invite(f.users.admin.token, `q3-${crypto.randomUUID()}@example.test`);
    expect(await expectProblem(over, 429, "quota_exceeded")).toMatchObject({
      quota: "members",
      limit: 5,
      used: 5,
    });
  });

  it("accept is limited to 10 attempts per minute per IP", async () => {
    const ip = "198.51.100.77";
    for (let i = 0; i < 10; i++) expect((await accept({ token: `inv_nope${i}` }, ip)).status).toBe(410);
    await expectProblem(await accept({ token: "inv_nope" }, ip), 429, "rate_limited");
  });
});

describe("audit events", () => {
  const db = pools();
  afterAll(() => db.end());

  it("lists the tenant's events with filters and pagination; never another tenant's", async () => {
    const f = await tenantWithRoles(db.admin, { plan: "enterprise" });
    const other = await tenantWithRoles(db.admin, { plan: "enterprise" });
    for (let i = 0; i < 3; i++) {
      await api(
        "/api/v1/api-keys",
        jsonInit("POST", { name: `k${i}`, role: "viewer" }, bearer(f.users.admin.token)),
      );
    }
    await api(
      "/api/v1/api-keys",
      jsonInit("POST", { name: "other", role: "viewer" }, bearer(other.users.admin.token)),
    );
    const page1 = await api("/api/v1/audit-events?action=api_key.created&limit=2", {
      headers: bearer(f.users.admin.token),
    });
    expect(page1.status).toBe(200);
    const p1 = (await page1.json()) as {
      data: { tenant_id: string; actor_id: string; request_id: string }[];
      next_cursor: string;
    };
    expect(p1.data).toHaveLength(2);
    expect(p1.data.every((e) => e.tenant_id === f.tenant.id && e.actor_id === f.users.admin.id)).toBe(true);
    expect(p1.data[0]?.request_id).toBeTruthy();
    const p2 = (await (
      await api(`/api/v1/audit-events?action=api_key.created&limit=2&cursor=${p1.next_cursor}`, {
        headers: bearer(f.users.admin.token),
      })
    ).json()) as { data: unknown[]; next_cursor: string | null };
    expect(p2.data).toHaveLength(1);
    expect(p2.next_cursor).toBeNull();
    await expectProblem(
      await api("/api/v1/audit-events", { headers: bearer(f.users.member.token) }),
      403,
      "forbidden",
    );

    const sys = await createUser(db.admin, { isSystemAdmin: true });
    const sysToken = await tokenFor(sys, null, { isSystemAdmin: true });
    const asSystem = await api(`/api/v1/audit-events?tenant=${other.tenant.slug}`, {
      headers: bearer(sysToken),
    });
    const events = ((await asSystem.json()) as { data: { tenant_id: string }[] }).data;
    expect(events.length).toBeGreaterThan(0);
    expect(events.every((e) => e.tenant_id === other.tenant.id)).toBe(true);
  });
});
