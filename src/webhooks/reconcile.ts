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
 *
 * Both visit the control database and every dedicated one (databases/dedicated.ts), with a
 * batch of their own in each.
 */
import { sql } from "drizzle-orm";
import { forEachTenantDatabase } from "../databases/dedicated";
import type { DatabaseHandle, HttpDatabase } from "../db/client";
import { webhookDeliveries, webhookRelayed } from "../db/schema";
import { WriteBatch } from "../db/write-batch";
import type { Bindings, Config } from "../env";
import { STALE_AFTER_MS } from "../jobs/policy";
import { clock, DAY_MS } from "../lib/clock";
import {
  claimUnqueued,
  pickDeliveries,
  type QueuedDelivery,
  queuedDelivery,
  sendDeliveries,
} from "./deliveries";
import { relayAll } from "./relay";

export const DELIVERY_RETENTION_DAYS = 30;

export async function reconcileWebhooks(
  http: HttpDatabase,
  opts: { now: number; batchSize: number },
): Promise<{ queued: QueuedDelivery[]; resent: QueuedDelivery[] }> {
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
      .returning(queuedDelivery),
  );
  await batch.run();
  return { queued: queued.value, resent: resent.value };
}

export const reconcileWebhooksTask = {
  name: "reconcile-webhooks",
  run: async ({ http }: DatabaseHandle, env: Bindings, config: Config): Promise<Record<string, unknown>> => {
    // First, dedicated tenants' events of the control database (relay.ts) into their own.
    const relayed = await relayAll(config, http, env.WEBHOOK_QUEUE, config.RECONCILE_BATCH_SIZE);
    const visit = await forEachTenantDatabase(config, http, "webhook reconcile", async (db) => {
      const { queued, resent } = await reconcileWebhooks(db, {
        now: clock.now(),
        batchSize: config.RECONCILE_BATCH_SIZE,
      });
      await sendDeliveries(env.WEBHOOK_QUEUE, [...queued, ...resent]);
      return { queued: queued.length, resent: resent.length };
    });
    return {
      queued: sum(visit.results, "queued"),
      resent: sum(visit.results, "resent"),
      dedicated_databases: visit.dedicated,
      failed_databases: visit.failed,
      relayed_tenants: relayed.tenants,
      failed_relays: relayed.failed,
    };
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
  // The relay's record of what it emitted (relay.ts) guards against a repeat within seconds;
  // a month of it is plenty.
  const relayed = batch.add(
    batch.db.execute<{ id: string }>(
      sql`delete from ${webhookRelayed} where id in (
            select id from ${webhookRelayed} where created_at < ${before}::timestamptz
            order by created_at limit ${opts.batchSize}
          ) returning id`,
    ),
  );
  await batch.run();
  return {
    deleted: deleted.value.length,
    relayed: relayed.value.rows.length,
    batchFull: deleted.value.length === opts.batchSize || relayed.value.rows.length === opts.batchSize,
  };
}

export const webhookRetentionTask = {
  name: "webhook-retention",
  run: async ({ http }: DatabaseHandle, _env: Bindings, config: Config): Promise<Record<string, unknown>> => {
    const visit = await forEachTenantDatabase(config, http, "webhook retention", (db) =>
      purgeOldDeliveries(db, { now: clock.now(), batchSize: config.USAGE_PURGE_BATCH_SIZE }),
    );
    return {
      deleted: sum(visit.results, "deleted"),
      relay_records_deleted: sum(visit.results, "relayed"),
      batch_full: visit.results.some((result) => result.batchFull),
      dedicated_databases: visit.dedicated,
      failed_databases: visit.failed,
    };
  },
};

function sum<K extends string>(results: Record<K, number>[], key: K): number {
  return results.reduce((total, result) => total + result[key], 0);
}
