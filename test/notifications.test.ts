import { env } from "cloudflare:workers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DatabaseHandle, openDatabase } from "../src/db/client";
import { type Bindings, loadConfig } from "../src/env";
import { MAX_ATTEMPTS, RECONCILE_CRON, RETRY_BASE_SECONDS } from "../src/jobs/policy";
import { reconcileNotificationsTask } from "../src/notifications/reconcile";
import { pools, uniqueSlug } from "./support/db";
import { createTenant, type TestTenant } from "./support/fixtures";
import { CLOSED_PORT } from "./support/http";
import { emailOfNotification, emailsTo, listEmails } from "./support/mail";
import { deliverNotification, insertInvitationNotification, notificationRow } from "./support/notifications";
import { runCron } from "./support/provisioner";

/**
 * The notifications queue's consumer: idempotent per message id, the provisioning jobs'
 * retry / backoff / dead rules when SMTP fails, the sealed token, and the reconciler that
 * resends rows whose queue message was lost. Rows are written here and delivered by hand.
 */
describe("notifications consumer", () => {
  const db = pools();
  let tenant: TestTenant;
  const recipient = () => `notify-${uniqueSlug()}@example.test`;
  const token = () => `inv_${crypto.randomUUID().replaceAll("-", "")}`;

  beforeAll(async () => {
    tenant = await createTenant(db.admin);
  });
  afterAll(() => db.end());

  it("sends a row once: a second delivery of the same message id is acknowledged without sending", async () => {
    const to = recipient();
    const id = await insertInvitationNotification(db.admin, tenant, to, token());
    expect(await deliverNotification(id)).toMatchObject({ acked: true, retried: false });
    const email = await emailOfNotification(id);
    expect(email.headers["message-id"]).toBe(`<${id}@tenantry.local>`);
    expect(await deliverNotification(id, { attempts: 2 })).toMatchObject({ acked: true, retried: false });
    expect(await emailsTo(to)).toHaveLength(1);
    expect(await notificationRow(db.admin, id)).toMatchObject({ status: "sent", attempts: 1, sealed: null });
  });

  it("two deliveries of one row at the same time send it once (the row's lock serialises them)", async () => {
    const to = recipient();
    const id = await insertInvitationNotification(db.admin, tenant, to, token());
    const results = await Promise.all([deliverNotification(id), deliverNotification(id)]);
    for (const result of results) expect(result).toMatchObject({ acked: true, retried: false });
    await emailOfNotification(id);
    // Give a wrongly doubled send the time to arrive before counting.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await emailsTo(to)).toHaveLength(1);
    expect(await notificationRow(db.admin, id)).toMatchObject({ status: "sent", attempts: 1 });
  });

  it("SMTP down: each failed attempt is recorded and retried with backoff, the last one is dead", async () => {
    const to = recipient();
    const secret = token();
    const id = await insertInvitationNotification(db.admin, tenant, to, secret);
    const down = { SMTP_PORT: String(CLOSED_PORT) };
    for (let attempt = 1; attempt < MAX_ATTEMPTS; attempt++) {
      const result = await deliverNotification(id, { attempts: attempt, env: down });
      const ceiling = RETRY_BASE_SECONDS * 2 ** (attempt - 1);
      expect(result, `attempt ${attempt}`).toMatchObject({ acked: false, retried: true });
      expect(result.delaySeconds).toBeGreaterThanOrEqual(Math.ceil(ceiling / 2));
      expect(result.delaySeconds).toBeLessThanOrEqual(ceiling);
      const row = await notificationRow(db.admin, id);
      expect(row).toMatchObject({ status: "failed", attempts: attempt });
      expect(row.last_error).toBeTruthy();
      expect(new Date(row.next_attempt_at).getTime()).toBeGreaterThan(Date.now());
      expect(row.sealed).not.toBeNull();
      expect(row.sealed).not.toContain(secret);
    }
    // The last attempt's message goes on to the dead-letter queue.
    const last = await deliverNotification(id, { attempts: MAX_ATTEMPTS, env: down });
    expect(last).toMatchObject({ acked: false, retried: true, delaySeconds: undefined });
    const dead = await notificationRow(db.admin, id);
    expect(dead).toMatchObject({ status: "dead", attempts: MAX_ATTEMPTS, sealed: null });
    expect(dead.last_error).toBeTruthy();
    expect(await emailsTo(to)).toEqual([]);
    // A dead row stays dead: redelivery sends nothing.
    expect(await deliverNotification(id)).toMatchObject({ acked: true });
    expect(await emailsTo(to)).toEqual([]);
  });

  it("a sealed token copied from another row does not open: dead at once, nothing sent", async () => {
    const to = recipient();
    const id = await insertInvitationNotification(db.admin, tenant, to, token(), {
      sealedFor: crypto.randomUUID(),
    });
    expect(await deliverNotification(id)).toMatchObject({ acked: true, retried: false });
    const row = await notificationRow(db.admin, id);
    expect(row).toMatchObject({ status: "dead", attempts: 1, sealed: null });
    expect(row.last_error).toContain("does not open");
    expect(await emailsTo(to)).toEqual([]);
  });

  it("an unreadable message or an unknown row is acknowledged and sends nothing", async () => {
    const before = (await listEmails()).length;
    expect(await deliverNotification("not-a-uuid")).toMatchObject({ acked: true });
    expect(await deliverNotification(crypto.randomUUID())).toMatchObject({ acked: true });
    expect((await listEmails()).length).toBe(before);
  });

  it("RLS: the runtime role sees a tenant's notifications only when pinned to that tenant", async () => {
    const other = await createTenant(db.admin);
    const id = await insertInvitationNotification(db.admin, other, recipient(), token());
    const visibleAs = async (tenantId: string | null) => {
      const client = await db.app.connect();
      try {
        await client.query("begin");
        if (tenantId) await client.query("select set_config('app.tenant_id', $1, true)", [tenantId]);
        const { rowCount } = await client.query("select 1 from notifications where id = $1", [id]);
        return rowCount;
      } finally {
        await client.query("rollback").catch(() => {});
        client.release();
      }
    };
    expect(await visibleAs(tenant.id)).toBe(0);
    expect(await visibleAs(null)).toBe(0);
    expect(await visibleAs(other.id)).toBe(1);
  });

  describe("the reconciler", () => {
    let handle: DatabaseHandle;
    beforeAll(() => {
      handle = openDatabase(loadConfig(env));
    });
    afterAll(() => handle.close());

    it("resends rows overdue by more than two minutes once, and marks rows out of attempts dead", async () => {
      const lost = await insertInvitationNotification(db.admin, tenant, recipient(), token(), {
        overdueMinutes: 10,
      });
      const waiting = await insertInvitationNotification(db.admin, tenant, recipient(), token(), {
        status: "failed",
        attempts: 2,
      });
      const exhausted = await insertInvitationNotification(db.admin, tenant, recipient(), token(), {
        status: "failed",
        attempts: MAX_ATTEMPTS,
        overdueMinutes: 10,
      });
      const first = await reconcile();
      expect(first.sent).toContain(lost);
      expect(first.sent).not.toContain(waiting);
      expect(first.sent).not.toContain(exhausted);
      expect(first.summary).toMatchObject({ resent: first.sent.length, dead: expect.any(Number) });
      const { rows } = await db.admin.query<{ id: string; status: string; sealed: string | null }>(
        "select id, status, sealed from notifications where id = any($1)",
        [[lost, waiting, exhausted]],
      );
      const byId = Object.fromEntries(rows.map((r) => [r.id, r]));
      expect(byId[lost]).toMatchObject({ status: "pending" });
      expect(byId[waiting]).toMatchObject({ status: "failed" });
      expect(byId[exhausted]).toMatchObject({ status: "dead", sealed: null });
      // Its due time moved to now: the next run (or an overlapping one) does not send it again.
      expect((await reconcile()).sent).not.toContain(lost);
    });

    it("is one of the five-minute cron's tasks", async () => {
      const lost = await insertInvitationNotification(db.admin, tenant, recipient(), token(), {
        overdueMinutes: 10,
      });
      const sent: string[] = [];
      const queue = {
        send: async () => {},
        sendBatch: async (messages: Iterable<{ body: { notificationId?: string } }>) => {
          for (const m of messages) if (m.body.notificationId) sent.push(m.body.notificationId);
        },
      };
      await runCron(RECONCILE_CRON, { NOTIFY_QUEUE: queue, PROVISION_QUEUE: queue });
      expect(sent).toContain(lost);
    });

    /** One run of the cron task, with a queue that records what it would have sent. */
    async function reconcile() {
      const sent: string[] = [];
      const queue = {
        send: async (body: { notificationId: string }) => void sent.push(body.notificationId),
        sendBatch: async (messages: Iterable<{ body: { notificationId: string } }>) => {
          for (const m of messages) sent.push(m.body.notificationId);
        },
      };
      const summary = await reconcileNotificationsTask.run(
        handle,
        { ...env, NOTIFY_QUEUE: queue } as unknown as Bindings,
        loadConfig(env),
      );
      return { sent, summary };
    }
  });
});

describe("mail configuration (env.ts)", () => {
  const parse = (vars: Record<string, string | undefined>) => () =>
    loadConfig({ ...env, ...vars } as Bindings);
  const deployed = {
    ENVIRONMENT: "production",
    INVITATION_DELIVERY: "",
    WEBHOOK_ALLOW_PRIVATE: "",
    SMTP_HOST: "smtp.example.com",
    SMTP_PORT: "465",
    SMTP_SECURITY: "tls",
    SMTP_USER: "apikey",
    SMTP_PASSWORD: "smtp-secret",
    MAIL_FROM: "Tenantry <no-reply@example.com>",
  };

  it("parses MAIL_FROM with or without a display name, and refuses anything else", () => {
    expect(parse({ MAIL_FROM: "Tenantry <no-reply@example.com>" })().MAIL_FROM).toEqual({
      name: "Tenantry",
      email: "no-reply@example.com",
    });
    expect(parse({ MAIL_FROM: "no-reply@example.com" })().MAIL_FROM).toEqual({
      email: "no-reply@example.com",
    });
    for (const bad of ["not an address", 'Evil"Name <a@example.com>', "Line\nBreak <a@example.com>", "<>"]) {
      expect(parse({ MAIL_FROM: bad }), bad).toThrow(/MAIL_FROM must be/);
    }
  });

  it("refuses port 25 (blocked from Workers) and a user without a password", () => {
    expect(parse({ SMTP_PORT: "25" })).toThrow(/SMTP_PORT 25 is blocked from Workers/);
    expect(parse({ SMTP_USER: "someone" })).toThrow(/SMTP_USER and SMTP_PASSWORD are set together/);
  });

  it("outside development: TLS only, and the host, sender and credentials are required", () => {
    expect(parse(deployed)).not.toThrow();
    expect(parse({ ...deployed, SMTP_SECURITY: "none" })).toThrow(
      /SMTP_SECURITY=none is for development only/,
    );
    for (const name of ["SMTP_HOST", "MAIL_FROM", "SMTP_USER", "SMTP_PASSWORD"]) {
      const without = { ...deployed, [name]: "" };
      if (name === "SMTP_USER") without.SMTP_PASSWORD = "";
      if (name === "SMTP_PASSWORD") without.SMTP_USER = "";
      expect(parse(without), name).toThrow(new RegExp(name));
    }
  });
});
