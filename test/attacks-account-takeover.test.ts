import { env } from "cloudflare:workers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashPassword } from "../src/lib/passwords";
import { pools } from "./support/db";
import {
  addMember,
  api,
  bearer,
  createTenant,
  createUser,
  jsonInit,
  type TestTenant,
  type TestUser,
  tenantWithRoles,
  tokenFor,
} from "./support/fixtures";
import { inviteByEmail } from "./support/invitations";
import { expectProblem } from "./support/problems";

/**
 * Account takeover through invitations (the first wave's hole): a tenant admin invites an
 * email that already has an account — the system admin's, another tenant's admin (also in
 * other letter case), another tenant's plain member — and accepts the invitation themselves.
 * Without proof of THAT account every attempt is 401 and changes nothing: no membership, no
 * token, the invitation still pending. With the account's own token or password it works.
 *
 * Invitations are made as staging and production make them: the API's answer has no token,
 * and the token is read from the invitee's email at the mail catcher. The attacks assume the
 * attacker got hold of it anyway (a forwarded email, a shared mailbox): that is exactly when
 * the proof of the account has to hold.
 */
describe("attack: accepting an invitation addressed to someone else's account", () => {
  const db = pools();
  const VICTIM_PASSWORD = "victim's own long password";
  let attacker: { tenant: TestTenant; admin: TestUser & { token: string }; apiKey: string };
  let victims: Record<string, TestUser & { inviteAs: string; password: string }>;
  let ips = 0;
  const nextIp = () => `198.51.100.${(ips++ % 250) + 1}`;

  beforeAll(async () => {
    const roles = await tenantWithRoles(db.admin, { plan: "pro" });
    const keyRes = await api(
      "/api/v1/api-keys",
      jsonInit("POST", { name: "attacker key", role: "admin" }, bearer(roles.users.admin.token)),
    );
    expect(keyRes.status).toBe(201);
    attacker = {
      tenant: roles.tenant,
      admin: roles.users.admin,
      apiKey: ((await keyRes.json()) as { key: string }).key,
    };

    const [sysRow] = (
      await db.admin.query<{ id: string }>("select id from users where email_normalized = lower($1)", [
        env.TEST_ADMIN_EMAIL,
      ])
    ).rows;
    if (!sysRow) throw new Error("the seeded system admin is missing");
    const other = await createTenant(db.admin);
    const passwordHash = await hashPassword(VICTIM_PASSWORD);
    const otherAdmin = await createUser(db.admin, { passwordHash });
    const otherMember = await createUser(db.admin, { passwordHash });
    await addMember(db.admin, other, otherAdmin, "admin");
    await addMember(db.admin, other, otherMember, "member");
    victims = {
      "the system admin": {
        id: sysRow.id,
        email: env.TEST_ADMIN_EMAIL,
        inviteAs: env.TEST_ADMIN_EMAIL,
        password: env.TEST_ADMIN_PASSWORD,
      },
      "another tenant's admin (mixed case)": {
        ...otherAdmin,
        inviteAs: mixedCase(otherAdmin.email),
        password: VICTIM_PASSWORD,
      },
      "another tenant's member": { ...otherMember, inviteAs: otherMember.email, password: VICTIM_PASSWORD },
    };
  });

  afterAll(() => db.end());

  async function invite(email: string): Promise<{ id: string; token: string }> {
    // Each test starts from no pending invitation (an email has at most one per tenant).
    await db.admin.query(
      "update invitations set revoked_at = now() where tenant_id = $1 and accepted_at is null and revoked_at is null",
      [attacker.tenant.id],
    );
    const sent = await inviteByEmail(db.admin, bearer(attacker.admin.token), { email, role: "admin" });
    // The inviter learns no token: it went to the invited address only.
    expect(sent.answer).not.toHaveProperty("token");
    expect(sent.email.envelope.to.map((to) => to.address.toLowerCase())).toEqual([email.toLowerCase()]);
    return { id: sent.invitation.id, token: sent.token };
  }

  const accept = (body: Record<string, unknown>, headers: Record<string, string> = {}) =>
    api("/api/v1/invitations/accept", jsonInit("POST", body, { "cf-connecting-ip": nextIp(), ...headers }));

  async function expectUnchanged(victim: TestUser, invitationId: string) {
    const membership = await db.admin.query(
      "select 1 from tenant_memberships where tenant_id = $1 and user_id = $2",
      [attacker.tenant.id, victim.id],
    );
    expect(membership.rowCount).toBe(0);
    const invitation = await db.admin.query<{ accepted_at: Date | null }>(
      "select accepted_at from invitations where id = $1",
      [invitationId],
    );
    expect(invitation.rows[0]?.accepted_at).toBeNull();
  }

  for (const name of ["the system admin", "another tenant's admin (mixed case)", "another tenant's member"]) {
    it(`${name}: every accept without that account's proof is 401 and changes nothing`, async () => {
      const victim = victims[name] as TestUser & { inviteAs: string; password: string };
      const invitation = await invite(victim.inviteAs);
      const attempts: Array<[string, Promise<Response>]> = [
        ["the token alone", accept({ token: invitation.token })],
        [
          "a new name and password",
          accept({ token: invitation.token, name: "Mallory", password: "mallory's chosen password" }),
        ],
        ["a wrong password", accept({ token: invitation.token, password: "not the victim's password" })],
        ["the inviter's own token", accept({ token: invitation.token }, bearer(attacker.admin.token))],
        ["the inviter's API key", accept({ token: invitation.token }, { "x-api-key": attacker.apiKey })],
        ["the inviter's API key as a bearer", accept({ token: invitation.token }, bearer(attacker.apiKey))],
      ];
      for (const [label, attempt] of attempts) {
        const res = await attempt;
        expect(res.status, `${label}: ${await res.clone().text()}`).toBe(401);
        const body = (await res.json()) as Record<string, unknown>;
        expect(body.code, label).toBe("unauthenticated");
        expect(body.access_token, label).toBeUndefined();
      }
      await expectUnchanged(victim, invitation.id);
    });
  }

  it("the README walkthrough's attack: a tenant admin's accept of admin@… yields no system-admin token", async () => {
    const victim = victims["the system admin"] as TestUser;
    const invitation = await invite(victim.email);
    const res = await accept({ token: invitation.token, name: "x", password: "attacker-password-123" });
    await expectProblem(res, 401, "unauthenticated");
    const me = await api("/api/v1/me", { headers: bearer(attacker.admin.token) });
    expect(((await me.json()) as { user: { is_system_admin: boolean } }).user.is_system_admin).toBe(false);
  });

  it("a forged or revoked token of the victim is no proof either", async () => {
    const victim = victims["another tenant's member"] as TestUser;
    const invitation = await invite(victim.email);
    await expectProblem(
      await accept({ token: invitation.token }, bearer(`${await tokenFor(victim, null)}x`)),
      401,
      "invalid_token",
    );
    await expectUnchanged(victim, invitation.id);
  });

  it("with the account's own access token (of any tenant) the invitation is accepted", async () => {
    const victim = victims["another tenant's admin (mixed case)"] as TestUser;
    const invitation = await invite(mixedCase(victim.email));
    const ownToken = await tokenFor(victim, null);
    const res = await accept({ token: invitation.token }, bearer(ownToken));
    expect(res.status, await res.clone().text()).toBe(200);
    expect(await res.json()).toMatchObject({
      user_id: victim.id,
      membership: { tenant_id: attacker.tenant.id },
    });
  });

  it("with the account's current password the invitation is accepted, and audited as such", async () => {
    const victim = victims["the system admin"] as TestUser & { password: string };
    const invitation = await invite(victim.email.toUpperCase());
    const res = await accept({ token: invitation.token, password: victim.password });
    expect(res.status, await res.clone().text()).toBe(200);
    const body = (await res.json()) as { user_id: string; access_token: string };
    expect(body.user_id).toBe(victim.id);
    const audit = await db.admin.query<{ actor_id: string; meta: { proof: string } }>(
      "select actor_id, meta from audit_events where tenant_id = $1 and action = 'invitation.accepted' and target_id = $2",
      [attacker.tenant.id, invitation.id],
    );
    expect(audit.rows[0]).toMatchObject({ actor_id: victim.id, meta: { proof: "password" } });
  });
});

/** `alice@example.test` → `AlIcE@ExAmPlE.TeSt`: the same account to a case-insensitive comparison. */
function mixedCase(email: string): string {
  return [...email].map((ch, i) => (i % 2 === 0 ? ch.toUpperCase() : ch)).join("");
}
