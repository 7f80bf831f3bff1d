/** Notification rows written as the owner, and single deliveries to the Worker's `queue()`. */
import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import type { Pool } from "@neondatabase/serverless";
import { vi } from "vitest";
import worker from "../../src/index";
import { NOTIFY_QUEUE_NAME } from "../../src/jobs/queue";
import { sealSecret } from "../../src/notifications/sealed-secret";

export interface NotificationRow {
  id: string;
  tenant_id: string;
  status: string;
  attempts: number;
  last_error: string | null;
  sealed: string | null;
  /** Timestamps come back as text from this driver. */
  next_attempt_at: string;
  sent_at: string | null;
  payload: Record<string, unknown>;
}

/**
 * A pending invitation email for `recipient` (token `token`), as `createInvitation` writes it,
 * but never sent to the queue: the test delivers it itself. `overdueMinutes` backdates it.
 */
export async function insertInvitationNotification(
  pool: Pool,
  tenant: { id: string; slug: string },
  recipient: string,
  token: string,
  opts: { status?: string; attempts?: number; overdueMinutes?: number; sealedFor?: string } = {},
): Promise<string> {
  const id = crypto.randomUUID();
  const sealed = await sealSecret(
    env.MASTER_KEY,
    { tenantId: tenant.id, notificationId: opts.sealedFor ?? id },
    token,
  );
  const payload = {
    invitation_id: crypto.randomUUID(),
    tenant_name: tenant.slug,
    tenant_slug: tenant.slug,
    role: "member",
    expires_at: new Date(Date.now() + 86_400_000).toISOString(),
    accept_page: `http://${tenant.slug}.localhost/console/invitations/accept`,
  };
  await pool.query(
    `insert into notifications (id, tenant_id, channel, recipient, template, payload, sealed, status, attempts, next_attempt_at)
     values ($1, $2, 'email', $3, 'invitation', $4, $5, $6, $7, now() - make_interval(mins => $8))`,
    [
      id,
      tenant.id,
      recipient,
      payload,
      sealed,
      opts.status ?? "pending",
      opts.attempts ?? 0,
      opts.overdueMinutes ?? 0,
    ],
  );
  return id;
}

export async function notificationRow(pool: Pool, id: string): Promise<NotificationRow> {
  const { rows } = await pool.query<NotificationRow>("select * from notifications where id = $1", [id]);
  if (!rows[0]) throw new Error(`no notification ${id}`);
  return rows[0];
}

let messageCounter = 0;

/** One delivery of `{notificationId}` to the Worker's `queue()`, as the n-th attempt of its message. */
export function deliverNotification(
  notificationId: string,
  opts: { attempts?: number; env?: Record<string, unknown> } = {},
) {
  return deliverMessage(NOTIFY_QUEUE_NAME, { notificationId }, opts);
}

/**
 * One message to the Worker's `queue()` as a batch of `queue`, as the n-th attempt of that
 * message: whether it was acknowledged or retried, and the retry's delay.
 */
export async function deliverMessage(
  queue: string,
  body: unknown,
  opts: { attempts?: number; env?: Record<string, unknown> } = {},
) {
  messageCounter += 1;
  const batch = createMessageBatch(queue, [
    {
      id: `message-${messageCounter}`,
      timestamp: new Date(),
      attempts: opts.attempts ?? 1,
      body,
    },
  ]);
  // The harness records that a message was retried but not its options: spy on them.
  const retry = vi.spyOn(batch.messages[0] as Message, "retry");
  const ctx = createExecutionContext();
  await worker.queue(batch, { ...env, ...opts.env }, ctx);
  const result = await getQueueResult(batch, ctx);
  return {
    acked: result.explicitAcks.length === 1,
    retried: result.retryMessages.length === 1,
    delaySeconds: retry.mock.calls[0]?.[0]?.delaySeconds,
  };
}
