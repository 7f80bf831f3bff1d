/**
 * The webhook outbox's safety net and housekeeping, run by the crons:
 *
 * - every five minutes, deliveries no request handed to the queue (written by a cron, a job
 *   consumer, or a request whose sweep was lost) are queued, and deliveries overdue by
 *   STALE_AFTER_MS whose lease has run out (a lost message, a consumer that died mid-send) are
 *   sent again; both take at most `batchSize` rows, locked `skip locked`, so overlapping runs
 *   never send a row twice;
 * - once a day, delivered and dead deliveries older than DELIVERY_RETENTION_DAYS are deleted
 *   (the log keeps a month), at most `batchSize` a run.
 */
import { sql } from "drizzle-orm";
import type { DatabaseHandle, HttpDatabase } from "../db/client";
import { webhookDeliveries } from "../db/schema";
import { WriteBatch } from "../db/write-batch";
import type { Bindings, Config } from "../env";
import { STALE_AFTER_MS } from "../jobs/policy";
import { clock, DAY_MS } from "../lib/clock";
import { claimUnqueued, pickDeliveries, sendDeliveries } from "./deliveries";

export const DELIVERY_RETENTION_DAYS = 30;

export async function reconcileWebhooks(
  http: HttpDatabase,
  opts: { now: number; batchSize: number },
): Promise<{ queued: string[]; resent: string[] }> {
  const now = new Date(opts.now).toISOString();
  const overdueBefore = new Date(opts.now - STALE_AFTER_MS).toISOString();
  const batch = new WriteBatch(http, { system: true });
  const queued = batch.add(claimUnqueued(batch.db, sql`true`, opts.batchSize));
  const resent = batch.add(
    batch.db
      .update(webhookDeliveries)
      .set({ nextAttemptAt: sql`${now}::timestamptz`, queuedAt: sql`${now}::timestamptz` })
      .where(
        pickDeliveries(
          sql`d.status in ('pending', 'failed') and d.queued_at is not null
              and d.next_attempt_at < ${overdueBefore}::timestamptz
              and (d.locked_until is null or d.locked_until < ${now}::timestamptz)`,
          sql`d.next_attempt_at, d.id`,
          opts.batchSize,
        ),
      )
      .returning({ id: webhookDeliveries.id }),
  );
  await batch.run();
  return { queued: queued.value.map((row) => row.id), resent: resent.value.map((row) => row.id) };
}

export const reconcileWebhooksTask = {
  name: "reconcile-webhooks",
  run: async ({ http }: DatabaseHandle, env: Bindings, config: Config): Promise<Record<string, unknown>> => {
    const { queued, resent } = await reconcileWebhooks(http, {
      now: clock.now(),
      batchSize: config.RECONCILE_BATCH_SIZE,
    });
    await sendDeliveries(env.WEBHOOK_QUEUE, [...queued, ...resent]);
    return { queued: queued.length, resent: resent.length };
  },
};

export async function purgeOldDeliveries(http: HttpDatabase, opts: { now: number; batchSize: number }) {
  const before = new Date(opts.now - DELIVERY_RETENTION_DAYS * DAY_MS).toISOString();
  const batch = new WriteBatch(http, { system: true });
  const deleted = batch.add(
    batch.db
      .delete(webhookDeliveries)
      .where(
        pickDeliveries(
          sql`d.status in ('delivered', 'dead') and d.created_at < ${before}::timestamptz`,
          sql`d.created_at`,
          opts.batchSize,
        ),
      )
      .returning({ id: webhookDeliveries.id }),
  );
  await batch.run();
  return { deleted: deleted.value.length, batchFull: deleted.value.length === opts.batchSize };
}

export const webhookRetentionTask = {
  name: "webhook-retention",
  run: async ({ http }: DatabaseHandle, _env: Bindings, config: Config): Promise<Record<string, unknown>> => {
    const { deleted, batchFull } = await purgeOldDeliveries(http, {
      now: clock.now(),
      batchSize: config.USAGE_PURGE_BATCH_SIZE,
    });
    return { deleted, batch_full: batchFull };
  },
};
