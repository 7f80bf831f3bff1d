import { env } from "cloudflare:workers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DatabaseHandle, openDatabase } from "../src/db/client";
import { type Bindings, loadConfig } from "../src/env";
import { expiringKeysTask, notifyExpiringKeys } from "../src/notifications/expiring-keys";
import { sendNotifications } from "../src/notifications/outbox";
import { pools } from "./support/db";
import { api, bearer, jsonInit, type TestTenant, type TestUser, tenantWithRoles } from "./support/fixtures";
import { emailOfNotification } from "./support/mail";

/**
 * The daily reminder (issue 21): a tenant's admins are emailed once about each API key that
 * expires within 7 days; revoked keys, keys further out and other tenants' admins are left alone.
 */
describe("API keys expiring within a week", () => {
  const db = pools();
  let handle: DatabaseHandle;
  let tenant: TestTenant;
  let admin: TestUser & { token: string };
  let otherAdmin: TestUser & { token: string };
  const keys = {} as Record<"soon" | "later" | "revoked", { id: string; prefix: string }>;

  const days = (n: number) => new Date(Date.now() + n * 86_400_000).toISOString();

  async function createKey(token: string, name: string, expiresAt: string) {
    const res = await api(
      "/api/v1/api-keys",
      jsonInit("POST", { name, role: "viewer", expires_at: expiresAt }, bearer(token)),
    );
    expect(res.status).toBe(201);
    return (await res.json()) as { id: string; prefix: string };
  }

  beforeAll(async () => {
    handle = openDatabase(loadConfig(env));
    const roles = await tenantWithRoles(db.admin, { plan: "pro" });
    tenant = roles.tenant;
    admin = roles.users.admin;
    otherAdmin = (await tenantWithRoles(db.admin, { plan: "pro" })).users.admin;
    keys.soon = await createKey(admin.token, "ci <deploy>", days(3));
    keys.later = await createKey(admin.token, "dashboards", days(10));
    keys.revoked = await createKey(admin.token, "old", days(2));
    const revoked = await api(`/api/v1/api-keys/${keys.revoked.id}`, {
      method: "DELETE",
      headers: bearer(admin.token),
    });
    expect(revoked.status).toBe(204);
  });
  afterAll(async () => {
    await handle.close();
    await db.end();
  });

  const reminders = async () =>
    (
      await db.admin.query<{ id: string; recipient: string; key: string }>(
        `select id, recipient, payload->>'api_key_id' as key from notifications
          where template = 'api_key_expiring' and payload->>'api_key_id' = any($1)`,
        [Object.values(keys).map((k) => k.id)],
      )
    ).rows;

  it("the daily task writes one reminder, to the tenant's admin, for the key expiring in 3 days, and sends it", async () => {
    const sent: string[] = [];
    const queue = {
      send: async () => {},
      sendBatch: async (messages: Iterable<{ body: { notificationId?: string } }>) => {
        for (const m of messages) if (m.body.notificationId) sent.push(m.body.notificationId);
      },
    };
    // The task itself, not the whole daily cron: its purge would race test/cron.test.ts for the
    // tenants that file deletes (that file checks the task runs on the daily cron).
    await expiringKeysTask.run(
      handle,
      { ...env, NOTIFY_QUEUE: queue } as unknown as Bindings,
      loadConfig(env),
    );
    const rows = await reminders();
    expect(rows.map((r) => [r.key, r.recipient])).toEqual([[keys.soon.id, admin.email]]);
    expect(rows.map((r) => r.recipient)).not.toContain(otherAdmin.email);
    expect(sent).toContain(rows[0]?.id);
  });

  it("is idempotent: another run, or two at once, write nothing more", async () => {
    const before = await reminders();
    const again = await Promise.all([
      notifyExpiringKeys(handle, { now: Date.now(), batchSize: 1000 }),
      notifyExpiringKeys(handle, { now: Date.now(), batchSize: 1000 }),
    ]);
    expect(again.flat()).not.toContain(before[0]?.id);
    expect(await reminders()).toEqual(before);
  });

  it("the email names the key by its name and prefix, never its secret, with its expiry", async () => {
    const [row] = await reminders();
    await sendNotifications(env.NOTIFY_QUEUE, [row?.id as string]);
    const email = await emailOfNotification(row?.id as string);
    expect(email.to.map((to) => to.address)).toEqual([admin.email]);
    expect(email.subject).toMatch(
      new RegExp(`^An API key of ${tenant.slug} expires on \\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2} UTC$`),
    );
    expect(email.text).toContain(`The API key "ci <deploy>" (${keys.soon.prefix}…)`);
    expect(email.html).toContain("ci &lt;deploy&gt;");
    expect(`${email.text}${email.html}`).not.toMatch(/uk_[a-z0-9-]+_[0-9A-Za-z]{32,}/);
  });
});
