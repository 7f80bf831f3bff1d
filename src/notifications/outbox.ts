/**
 * The notifications outbox, producer side. A change that must tell someone (an invitation
 * now; tenant events and webhook deliveries later) adds its row to its own write batch
 * (`notificationInsert`), so the change and the message commit together or not at all; only
 * after the commit is the row's id sent to NOTIFY_QUEUE (`notificationOutbox`, off the
 * response path). A lost send leaves the row `pending`, and the reconciler sends it again.
 */
import type { BatchItem } from "drizzle-orm/batch";
import type { Queryable } from "../db/client";
import { type NotificationChannel, notifications } from "../db/schema";
import { type Outbox, outboxOf, sendMessages } from "../jobs/producer";
import type { NotifyQueue } from "../jobs/queue";
import type { Background } from "../lib/after-response";
import { clock } from "../lib/clock";
import { sealSecret } from "./sealed-secret";
import type { TemplateName } from "./templates";

export interface NewNotification {
  tenantId: string;
  channel: NotificationChannel;
  recipient: string;
  template: TemplateName;
  /** What the template renders; never a secret. */
  payload: Record<string, unknown>;
  /** The one secret the message carries, if any: stored sealed (sealed-secret.ts). */
  secret?: string;
}

/**
 * The row's insert as a statement of a write batch. Its id is chosen here, so the request can
 * hand it to the outbox once the batch has committed.
 */
export async function notificationInsert(
  db: Queryable,
  masterKey: string,
  message: NewNotification,
): Promise<{ id: string; insert: BatchItem<"pg"> }> {
  const id = crypto.randomUUID();
  const now = new Date(clock.now());
  const sealed =
    message.secret === undefined
      ? null
      : await sealSecret(masterKey, { tenantId: message.tenantId, notificationId: id }, message.secret);
  return {
    id,
    insert: db.insert(notifications).values({
      id,
      tenantId: message.tenantId,
      channel: message.channel,
      recipient: message.recipient,
      template: message.template,
      payload: message.payload,
      sealed,
      nextAttemptAt: now,
      createdAt: now,
    }),
  };
}

/** Sends committed notifications to the queue; failures are logged and left to the reconciler. */
export function sendNotifications(queue: NotifyQueue, ids: string[]): Promise<void> {
  return sendMessages(
    queue,
    ids.map((notificationId) => ({ notificationId })),
    { notification_ids: ids },
  );
}

export type NotificationOutbox = Outbox;

/** Committed notifications go to NOTIFY_QUEUE once the response is ready. */
export function notificationOutbox(queue: NotifyQueue, background: Background): NotificationOutbox {
  return outboxOf((ids) => sendNotifications(queue, ids), background);
}
