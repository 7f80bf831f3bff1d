import { createApp } from "./app";
import type { Bindings } from "./env";
import { handleQueue } from "./jobs/consumer";
import { handleScheduled } from "./jobs/cron";
import { isQueue, NOTIFY_QUEUE_NAME, PROVISION_QUEUE_NAME, WEBHOOK_QUEUE_NAME } from "./jobs/queue";
import { log } from "./lib/log";
import { handleNotifications } from "./notifications/consumer";
import { handleWebhookDeliveries } from "./webhooks/sender";

const app = createApp();

/** Each queue of wrangler.toml to its consumer, by the batch's queue name. */
async function queue(batch: MessageBatch<unknown>, env: Bindings, ctx: ExecutionContext): Promise<void> {
  if (isQueue(batch.queue, NOTIFY_QUEUE_NAME)) return handleNotifications(batch, env, ctx);
  if (isQueue(batch.queue, PROVISION_QUEUE_NAME)) return handleQueue(batch, env, ctx);
  if (isQueue(batch.queue, WEBHOOK_QUEUE_NAME)) return handleWebhookDeliveries(batch, env, ctx);
  // A consumer added to wrangler.toml without a handler here: fail the batch so it shows up.
  log("error", "no consumer for this queue", { queue: batch.queue });
  throw new Error(`no consumer for queue "${batch.queue}"`);
}

export default {
  fetch: app.fetch,
  queue,
  scheduled: handleScheduled,
} satisfies ExportedHandler<Bindings, unknown>;
