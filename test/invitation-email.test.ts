import { env } from "cloudflare:workers";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { hashPassword } from "../src/lib/passwords";
import { ConsoleBrowser } from "./support/console-browser";
import { pools, uniqueSlug } from "./support/db";
import {
  addMember,
  api,
  bearer,
  createUser,
  jsonInit,
  type TestTenant,
  type TestUser,
  tenantWithRoles,
} from "./support/fixtures";
import { inviteByEmail } from "./support/invitations";
import { emailsTo, invitationEmail, invitationLinkOf } from "./support/mail";
import { notificationRow } from "./support/notifications";

/**
 * Invitations travel by email (issue 21): the invitation and its email commit together, the
 * queue's consumer sends it over SMTP to the run's mail catcher, and the emailed link — on the
 * tenant's console host, token in the fragment — is the only way to the token unless the Worker
 * runs with INVITATION_DELIVERY=response (development and tests).
 */
describe("invitation email", () => {
  const db = pools();
  let tenant: TestTenant;
  let admin: TestUser & { token: string };
  const invitee = () => `invitee-${uniqueSlug()}@example.test`;
  let ips = 0;
  const ip = () => ({ "cf-connecting-ip": `203.0.113.${(ips++ % 250) + 1}` });

  beforeAll(async () => {
    // Pro: room for every invitation this file makes (pending ones count against members).
    const roles = await tenantWithRoles(db.admin, { plan: "pro" });
    tenant = roles.tenant;
    admin = roles.users.admin;
  });
  afterAll(() => db.end());

  it("reaches the invitee: the tenant in the subject, a link on its console host, a token that accepts", async () => {
    const to = invitee();
    const sent = await inviteByEmail(db.admin, bearer(admin.token), { email: to, role: "member" });
    expect(sent.answer).not.toHaveProperty("token");
    expect(sent.answer).not.toHaveProperty("accept_url");

    expect(sent.email.envelope.to.map((r) => r.address)).toEqual([to]);
    expect(sent.email.to.map((r) => r.address)).toEqual([to]);
    expect(sent.email.from.map((r) => r.address)).toEqual(["no-reply@tenantry.local"]);
    expect(sent.email.subject).toBe(`You are invited to join ${tenant.slug} on Tenantry`);
    expect(sent.link.origin).toBe(`http://${tenant.slug}.localhost`);
    expect(sent.link.pathname).toBe("/console/invitations/accept");
    expect(sent.link.search).toBe("");
    expect(sent.token).toMatch(/^inv_[0-9A-Za-z]{40}$/);
    expect(sent.email.html).toContain(`href="${sent.link.href}"`);
    expect(sent.email.html).toContain(`<code>${sent.token}</code>`);
    expect(sent.email.text).toContain(`as a member`);

    const accepted = await api(
      "/api/v1/invitations/accept",
      jsonInit("POST", { token: sent.token, password: "the invitee's own password" }, ip()),
    );
    expect(accepted.status, await accepted.clone().text()).toBe(200);
    expect(await accepted.json()).toMatchObject({ membership: { tenant_slug: tenant.slug, role: "member" } });
  });

  it("is sent once, and its row keeps no token once sent", async () => {
    const sent = await inviteByEmail(db.admin, bearer(admin.token), { email: invitee(), role: "viewer" });
    expect(await emailsTo(sent.invitation.email)).toHaveLength(1);
    const { rows } = await db.admin.query<{ id: string }>(
      "select id from notifications where payload->>'invitation_id' = $1",
      [sent.invitation.id],
    );
    const row = await notificationRow(db.admin, rows[0]?.id ?? "");
    expect(row).toMatchObject({ status: "sent", attempts: 1, sealed: null, last_error: null });
    expect(row.sent_at).not.toBeNull();
    expect(JSON.stringify(row)).not.toContain(sent.token);
  });

  it("with INVITATION_DELIVERY=response the answer also carries the token and the emailed link", async () => {
    const to = invitee();
    const res = await api(
      "/api/v1/invitations",
      jsonInit("POST", { email: to, role: "member" }, bearer(admin.token)),
    );
    expect(res.status).toBe(201);
    const answer = (await res.json()) as { invitation: { id: string }; token: string; accept_url: string };
    const emailed = invitationLinkOf(await invitationEmail(db.admin, answer.invitation.id));
    expect(answer.token).toBe(emailed.token);
    expect(answer.accept_url).toBe(emailed.link.href);
  });

  it("escapes the tenant's name in the HTML part and keeps the subject one line", async () => {
    const roles = await tenantWithRoles(db.admin);
    const name = `<img src=x onerror=alert(1)> & "Co"\r\nBcc: victim@example.test`;
    await db.admin.query("update tenants set name = $1 where id = $2", [name, roles.tenant.id]);
    const sent = await inviteByEmail(db.admin, bearer(roles.users.admin.token), {
      email: invitee(),
      role: "admin",
    });
    expect(sent.email.html).not.toContain("<img");
    expect(sent.email.html).toContain("&lt;img src=x onerror=alert(1)&gt; &amp; &quot;Co&quot;");
    expect(sent.email.subject).toBe(
      `You are invited to join <img src=x onerror=alert(1)> & "Co" Bcc: victim@example.test on Tenantry`,
    );
    expect(sent.email.headers).not.toHaveProperty("bcc");
    expect(sent.email.envelope.to).toHaveLength(1);
  });

  describe("the console's accept page (the emailed link)", () => {
    it("GET shows the form whose code field the page's script fills from the fragment", async () => {
      const browser = new ConsoleBrowser(`${tenant.slug}.localhost`);
      const res = await browser.get("/console/invitations/accept");
      expect(res.status).toBe(200);
      const html = await res.text();
      expect(html).toContain('data-fragment-field="token"');
      expect(html).toContain('<input id="token" name="token" type="text" required=""');
      expect(html).toContain('name="password"');
      expect(html).toContain('action="/console/invitations/accept"');
    });

    it("a new account: accepted with a name and a password, then signed in on the tenant's host", async () => {
      const sent = await inviteByEmail(db.admin, bearer(admin.token), { email: invitee(), role: "admin" });
      const browser = new ConsoleBrowser(sent.link.host);
      await browser.get(sent.link.pathname);
      const res = await browser.post(sent.link.pathname, {
        token: sent.token,
        name: "New Admin",
        password: "a long new-account password",
      });
      expect(res.status, await res.clone().text()).toBe(303);
      expect(res.headers.get("location")).toBe(`/console/tenants/${tenant.slug}?notice=invitation_accepted`);
      const landing = await browser.get(res.headers.get("location") ?? "");
      expect(landing.status).toBe(200);
      const html = await landing.text();
      expect(html).toContain("Invitation accepted: welcome to the tenant.");
      expect(html).toContain(sent.invitation.email);
    });

    it("an existing account: refused with another password (the code kept), accepted with its own", async () => {
      const password = "existing account's password";
      const user = await createUser(db.admin, { passwordHash: await hashPassword(password) });
      const sent = await inviteByEmail(db.admin, bearer(admin.token), { email: user.email, role: "viewer" });
      const browser = new ConsoleBrowser(sent.link.host);
      await browser.get(sent.link.pathname);
      const wrong = await browser.post(sent.link.pathname, {
        token: sent.token,
        password: "not the password at all",
      });
      expect(wrong.status).toBe(401);
      const page = await wrong.text();
      expect(page).toContain("Enter that account&#39;s current password.");
      expect(page).toContain(`value="${sent.token}"`);
      expect(page).not.toContain("not the password at all");
      const right = await browser.post(sent.link.pathname, { token: sent.token, password });
      expect(right.status, await right.clone().text()).toBe(303);
      const { rows } = await db.admin.query(
        "select role from tenant_memberships where tenant_id = $1 and user_id = $2",
        [tenant.id, user.id],
      );
      expect(rows).toEqual([{ role: "viewer" }]);
    });

    it("without the code (no script, nothing pasted) the form asks for it", async () => {
      const browser = new ConsoleBrowser(`${tenant.slug}.localhost`);
      await browser.get("/console/invitations/accept");
      const res = await browser.post("/console/invitations/accept", {
        token: "",
        password: "whatever password",
      });
      expect(res.status).toBe(400);
      expect(await res.text()).toContain("The invitation code is missing");
    });

    it("a used code: the page says the invitation is no longer valid", async () => {
      const sent = await inviteByEmail(db.admin, bearer(admin.token), { email: invitee(), role: "member" });
      const first = new ConsoleBrowser(sent.link.host);
      await first.get(sent.link.pathname);
      const form = { token: sent.token, name: "Once", password: "a long new-account password" };
      expect((await first.post(sent.link.pathname, form)).status).toBe(303);
      const second = new ConsoleBrowser(sent.link.host);
      await second.get(sent.link.pathname);
      const again = await second.post(sent.link.pathname, form);
      expect(again.status).toBe(410);
      expect(await again.text()).toContain("Invitation expired");
    });
  });

  it("no token, password or SMTP secret reaches the logs, from the invitation to the console's sign-in", async () => {
    const lines: string[] = [];
    const spies = (["log", "info", "warn", "error", "debug"] as const).map((level) =>
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
        lines.push(args.map(String).join(" "));
      }),
    );
    const password = `pw-${crypto.randomUUID()}`;
    let token = "";
    try {
      const sent = await inviteByEmail(db.admin, bearer(admin.token), { email: invitee(), role: "member" });
      token = sent.token;
      const browser = new ConsoleBrowser(sent.link.host);
      await browser.get(sent.link.pathname);
      const res = await browser.post(sent.link.pathname, { token, name: "Logged", password });
      expect(res.status).toBe(303);
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
    const all = lines.join("\n");
    expect(all).toContain('"msg":"request"');
    // The consumer's line of the sent email is among them.
    expect(all).toMatch(/"msg":"notification".*"outcome":"sent"/);
    for (const secret of [token, token.slice(4), password, env.MASTER_KEY]) {
      expect(all.includes(secret), `a secret leaked into the logs: ${secret.slice(0, 6)}…`).toBe(false);
    }
  });

  it("an invitation for a member of another tenant is sent to that address, nowhere else", async () => {
    const other = await tenantWithRoles(db.admin);
    const member = await createUser(db.admin);
    await addMember(db.admin, other.tenant, member, "member");
    const sent = await inviteByEmail(db.admin, bearer(admin.token), { email: member.email, role: "viewer" });
    expect(sent.email.envelope.to.map((r) => r.address)).toEqual([member.email]);
    expect(sent.link.host).toBe(`${tenant.slug}.localhost`);
  });
});
