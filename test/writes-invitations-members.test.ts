/**
 * Invitation and membership writes are one Postgres round trip each (one SQL-over-HTTP
 * batch): idempotent invitation creates replay from the batch's stored answer, refused ones
 * are judged afresh, and the last-admin guard holds under concurrent demotions and removals.
 */
import { env } from "cloudflare:workers";
import { afterAll, describe, expect, it, vi } from "vitest";
import { clearTenantCache } from "../src/services/tenancy/tenant-directory";
import { pools } from "./support/db";
import {
  addMember,
  api,
  bearer,
  createTenant,
  createUser,
  jsonInit,
  type TestTenant,
  tenantWithRoles,
  tokenFor,
} from "./support/fixtures";
import { expectProblem } from "./support/problems";

const ROUNDS = 10;

describe("invitation and member writes", () => {
  const db = pools();
  afterAll(() => db.end());

  const invite = (token: string, body: Record<string, unknown>, key?: string) =>
    api(
      "/api/v1/invitations",
      jsonInit("POST", body, { ...bearer(token), ...(key ? { "idempotency-key": key } : {}) }),
    );
  const email = () => `w-${crypto.randomUUID()}@example.test`;

  it("an idempotent invitation create replays its answer (token included) and invites once", async () => {
    const f = await tenantWithRoles(db.admin);
    const key = crypto.randomUUID();
    const body = { email: email(), role: "member" };
    const first = await invite(f.users.admin.token, body, key);
    expect(first.status).toBe(201);
    const answer = (await first.json()) as { invitation: { id: string }; token: string };
    expect(answer.token).toMatch(/^inv_/);

    const again = await invite(f.users.admin.token, { role: body.role, email: body.email }, key);
    expect(again.status).toBe(201);
    expect(again.headers.get("idempotency-replayed")).toBe("true");
    expect(await again.json()).toEqual(answer);
    const { rows } = await db.admin.query<{ n: number }>(
      "select count(*)::int as n from invitations where tenant_id = $1 and email = $2",
      [f.tenant.id, body.email],
    );
    expect(rows[0]?.n).toBe(1);
  });

  it("a refused invitation create (members quota) is not replayed: the retry is judged afresh", async () => {
    const f = await tenantWithRoles(db.admin); // 3 members
    await db.admin.query(`update tenants set quota_overrides = '{"members": 3}' where id = $1`, [
      f.tenant.id,
    ]);
    clearTenantCache();
    const key = crypto.randomUUID();
    const body = { email: email(), role: "viewer" };
    expect(
      await expectProblem(await invite(f.users.admin.token, body, key), 429, "quota_exceeded"),
    ).toMatchObject({ quota: "members", limit: 3, used: 3 });
    await db.admin.query("update tenants set quota_overrides = '{}' where id = $1", [f.tenant.id]);
    clearTenantCache();
    const retry = await invite(f.users.admin.token, body, key);
    expect(retry.status).toBe(201);
    expect(retry.headers.get("idempotency-replayed")).toBeNull();
  });

  it(`two admins demoting or removing each other at once always leave one admin (${ROUNDS} rounds)`, async () => {
    const changes = [
      { method: "PATCH", body: { role: "viewer" }, ok: 200 },
      { method: "DELETE", ok: 204 },
    ] as const;
    for (let round = 0; round < ROUNDS; round++) {
      const tenant = await createTenant(db.admin);
      const [x, y] = await Promise.all([adminOf(tenant), adminOf(tenant)]);
      // Rounds cycle through every pairing of a demotion and a removal.
      const mine = changes[round % 2] as (typeof changes)[number];
      const theirs = changes[Math.floor(round / 2) % 2] as (typeof changes)[number];
      const change = (actor: typeof x, target: typeof x, how: (typeof changes)[number]) =>
        api(
          `/api/v1/members/${target.id}`,
          "body" in how
            ? jsonInit(how.method, how.body, bearer(actor.token))
            : { method: how.method, headers: bearer(actor.token) },
        );
      const results = await Promise.all([change(x, y, mine), change(y, x, theirs)]);
      const admins = await db.admin.query<{ n: number }>(
        "select count(*)::int as n from tenant_memberships where tenant_id = $1 and role = 'admin'",
        [tenant.id],
      );
      expect(admins.rows[0]?.n, `round ${round}`).toBe(1);
      const statuses = results.map((r) => r.status);
      const won = statuses.filter((s, i) => s === [mine, theirs][i]?.ok);
      expect(won, `round ${round}: ${statuses}`).toHaveLength(1);
      expect(
        statuses.some((s) => s === 403 || s === 409),
        `round ${round}: ${statuses}`,
      ).toBe(true);
    }
  });

  it("invite, revoke, role change and removal are one Postgres round trip each; accept's join is one", async () => {
    const f = await tenantWithRoles(db.admin);
    const admin = bearer(f.users.admin.token);
    // A read first, so the caller's tenant and access are cached and only the write remains.
    expect((await api("/api/v1/invitations", { headers: admin })).status).toBe(200);

    const created = await postgresTrips(() =>
      invite(f.users.admin.token, { email: email(), role: "member" }),
    );
    expect(created.result.status).toBe(201);
    // The invitation, its email in the notifications outbox and the audit record commit together.
    expectOneWrite(created.trips, [
      `insert into "invitations"`,
      `insert into "notifications"`,
      `insert into "audit_events"`,
    ]);
    const { invitation } = (await created.result.json()) as { invitation: { id: string } };

    const revoked = await postgresTrips(() =>
      api(`/api/v1/invitations/${invitation.id}`, { method: "DELETE", headers: admin }),
    );
    expect(revoked.result.status).toBe(204);
    expectOneWrite(revoked.trips, [`update "invitations"`, `insert into "audit_events"`]);

    const changed = await postgresTrips(() =>
      api(`/api/v1/members/${f.users.viewer.id}`, jsonInit("PATCH", { role: "member" }, admin)),
    );
    expect(changed.result.status).toBe(200);
    expectOneWrite(changed.trips, [`update "tenant_memberships"`, `insert into "audit_events"`]);

    const removed = await postgresTrips(() =>
      api(`/api/v1/members/${f.users.viewer.id}`, { method: "DELETE", headers: admin }),
    );
    expect(removed.result.status).toBe(204);
    expectOneWrite(removed.trips, [`delete from "tenant_memberships"`, `insert into "audit_events"`]);

    const { token } = (await (
      await invite(f.users.admin.token, { email: email(), role: "viewer" })
    ).json()) as {
      token: string;
    };
    const accepted = await postgresTrips(() =>
      api(
        "/api/v1/invitations/accept",
        jsonInit(
          "POST",
          { token, password: "a long enough password" },
          { "cf-connecting-ip": "203.0.113.9" },
        ),
      ),
    );
    expect(accepted.result.status).toBe(200);
    // The read of the invitation, then the join: account, membership, acceptance and audit.
    expect(accepted.trips).toHaveLength(2);
    expectOneWrite(accepted.trips.slice(1), [
      `insert into "users"`,
      `insert into "tenant_memberships"`,
      `update "invitations"`,
      `insert into "audit_events"`,
    ]);
  });

  async function adminOf(tenant: TestTenant) {
    const user = await createUser(db.admin);
    await addMember(db.admin, tenant, user, "admin");
    return { ...user, token: await tokenFor(user, tenant) };
  }
});

/**
 * The SQL-over-HTTP requests the Worker sends while `run` runs, each as the SQL it carries:
 * one request is one round trip to Postgres. The Worker runs in this isolate, so its `fetch` is this one.
 */
async function postgresTrips<T>(run: () => Promise<T>): Promise<{ result: T; trips: string[] }> {
  const trips: string[] = [];
  const send = globalThis.fetch;
  const spy = vi.spyOn(globalThis, "fetch").mockImplementation((input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    if (url === env.NEON_LOCAL_HTTP) trips.push(statementsOf(init?.body));
    return send(input, init);
  });
  try {
    return { result: await run(), trips };
  } finally {
    spy.mockRestore();
  }
}

/** Exactly one round trip, carrying every statement of the write. */
function expectOneWrite(trips: string[], statements: string[]): void {
  expect(trips).toHaveLength(1);
  for (const statement of statements) expect(trips[0]).toContain(statement);
}

function statementsOf(body: unknown): string {
  const sent = JSON.parse(String(body)) as { query?: string; queries?: { query: string }[] };
  return (sent.queries ?? [sent]).map((q) => q.query).join(";\n");
}
