/**
 * Reads what the Worker sent from the run's mail catcher (maildev's HTTP API, started by
 * test/global-setup.ts): `GET /api/email` lists every message, `GET /api/email/{id}` has one
 * with its text and HTML parts. Each email's Message-ID is its notification's id, so a test
 * can wait for the email of exactly the invitation it made.
 */
import { env } from "cloudflare:workers";
import type { Pool } from "@neondatabase/serverless";

export interface CaughtEmail {
  id: string;
  subject: string;
  from: Array<{ address: string; name: string }>;
  to: Array<{ address: string; name: string }>;
  envelope: { to: Array<{ address: string }> };
  headers: Record<string, string>;
  text: string;
  html: string;
}

const POLL_MS = 100;
const WAIT_MS = 15_000;

/** Every message the catcher holds, oldest first (list entries: headers and envelope, no HTML). */
export async function listEmails(): Promise<CaughtEmail[]> {
  const res = await fetch(`${env.TEST_MAIL_API_URL}/api/email`);
  if (!res.ok) throw new Error(`the mail catcher answered ${res.status}`);
  return (await res.json()) as CaughtEmail[];
}

/** Every message for `recipient` (compared case-insensitively), in full. */
export async function emailsTo(recipient: string): Promise<CaughtEmail[]> {
  const wanted = recipient.toLowerCase();
  const mine = (await listEmails()).filter((m) =>
    m.envelope.to.some((to) => to.address.toLowerCase() === wanted),
  );
  return Promise.all(mine.map((m) => fullEmail(m.id)));
}

/** The email of one notification (its Message-ID is `<notification id@sender's domain>`), once it arrived. */
export async function emailOfNotification(notificationId: string, timeoutMs = WAIT_MS): Promise<CaughtEmail> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = (await listEmails()).find((m) =>
      m.headers["message-id"]?.startsWith(`<${notificationId}@`),
    );
    if (found) return fullEmail(found.id);
    if (Date.now() > deadline)
      throw new Error(`no email for notification ${notificationId} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** The id of the notification row that carries an invitation's email (read as the owner). */
export async function invitationNotificationId(pool: Pool, invitationId: string): Promise<string> {
  const { rows } = await pool.query<{ id: string }>(
    "select id from notifications where template = 'invitation' and payload->>'invitation_id' = $1",
    [invitationId],
  );
  if (rows.length !== 1) throw new Error(`${rows.length} notifications for invitation ${invitationId}`);
  return rows[0]?.id as string;
}

/** The email an invitation sent, once it arrived. */
export async function invitationEmail(pool: Pool, invitationId: string): Promise<CaughtEmail> {
  return emailOfNotification(await invitationNotificationId(pool, invitationId));
}

/** The accept link of an invitation email (its text part) and the token in its fragment. */
export function invitationLinkOf(email: CaughtEmail): { link: URL; token: string } {
  const match = /https?:\/\/\S+\/console\/invitations\/accept#token=\S+/.exec(email.text);
  if (!match) throw new Error(`no invitation link in: ${email.text}`);
  const link = new URL(match[0]);
  const token = new URLSearchParams(link.hash.slice(1)).get("token");
  if (!token) throw new Error(`no token in the link ${match[0]}`);
  return { link, token };
}

async function fullEmail(id: string): Promise<CaughtEmail> {
  const res = await fetch(`${env.TEST_MAIL_API_URL}/api/email/${encodeURIComponent(id)}`);
  if (!res.ok) throw new Error(`the mail catcher answered ${res.status} for message ${id}`);
  return (await res.json()) as CaughtEmail;
}
