/** The Worker's queues: their messages, the producer side of their bindings, and their names. */

/** A provisioning job to deliver, or a tenant move to run (src/moves/). */
export type ProvisionMessage = { jobId: string } | { moveId: string };

/** A row of the notifications outbox to send (an email). */
export interface NotificationMessage {
  notificationId: string;
}

/**
 * A webhook delivery to attempt, in the database of its tenant's own rows: messages name the
 * tenant so the sender can find a dedicated tenant's database; one without (sent before there
 * were dedicated databases) is the control database's.
 */
export interface WebhookMessage {
  deliveryId: string;
  tenantId?: string;
}

/**
 * The producer side of a Cloudflare Queue binding, structurally: what the Worker uses of
 * `Queue<Body>`, so Node-side code (benchmarks, scripts) can type-check too.
 */
export interface QueueProducer<Body> {
  send(body: Body, options?: { contentType?: "json"; delaySeconds?: number }): Promise<unknown>;
  sendBatch(
    messages: Iterable<{ body: Body; contentType?: "json"; delaySeconds?: number }>,
  ): Promise<unknown>;
}

export type ProvisionQueue = QueueProducer<ProvisionMessage>;
export type NotifyQueue = QueueProducer<NotificationMessage>;
export type WebhookQueue = QueueProducer<WebhookMessage>;

/**
 * The queue names of wrangler.toml, per environment a suffix (`-staging`, `-production`);
 * `queue()` dispatches on them. Their dead-letter queues add `-dlq` and have no consumer.
 */
export const PROVISION_QUEUE_NAME = "tenantry-provisioning";
export const NOTIFY_QUEUE_NAME = "tenantry-notifications";
export const WEBHOOK_QUEUE_NAME = "tenantry-webhooks";

/** Whether `queue` is the queue `base` names in some environment (`base` or `base-<env>`). */
export function isQueue(queue: string, base: string): boolean {
  return queue === base || (queue.startsWith(`${base}-`) && !queue.endsWith("-dlq"));
}
