/**
 * The notifications outbox's safety net, run by the five-minute reconcile cron: a row still
 * `pending` or `failed` STALE_AFTER_MS after it was due lost its queue message (a send that
 * failed after commit, a consumer that died mid-send, a retry that never came back) and is
 * sent again; one that has used up its attempts is marked `dead` instead. Both steps take at
 * most `batchSize` rows, oldest due first, locked with `for update skip locked` (rows a
 * consumer is sending right now are skipped), and a resent row's due time moves to now, so
 * overlapping runs never send a row twice.
 */
import { and, asc, gte, inArray, lt, sql } from "drizzle-orm";
import { type Database, type DatabaseHandle, type Tx, withSystem } from "../db/client";
import { notifications } from "../db/schema";
import type { Bindings, Config } from "../env";
import { MAX_ATTEMPTS, STALE_AFTER_MS } from "../jobs/policy";
import { clock } from "../lib/clock";
import { sendNotifications } from "./outbox";

export interface NotificationReconcileResult {
  resent: string[];
  dead: string[];
}

export async function reconcileNotifications(
  db: Database,
  opts: { now: number; batchSize: number },
): Promise<NotificationReconcileResult> {
  const at = new Date(opts.now);
  const overdue = and(
    inArray(notifications.status, ["pending", "failed"]),
    lt(notifications.nextAttemptAt, new Date(opts.now - STALE_AFTER_MS)),
  );
  return withSystem(db, async (tx) => {
    const exhausted = await oldestDue(
      tx,
      and(overdue, gte(notifications.attempts, MAX_ATTEMPTS)),
      opts.batchSize,
    );
    const dead =
      exhausted.length === 0
        ? []
        : await tx
            .update(notifications)
            .set({
              status: "dead",
              sealed: null,
              lastError: sql`coalesce(${notifications.lastError}, 'not sent after ' || ${notifications.attempts} || ' attempts')`,
            })
            .where(inArray(notifications.id, exhausted))
            .returning({ id: notifications.id });
    const lost = await oldestDue(tx, and(overdue, lt(notifications.attempts, MAX_ATTEMPTS)), opts.batchSize);
    if (lost.length > 0)
      await tx.update(notifications).set({ nextAttemptAt: at }).where(inArray(notifications.id, lost));
    return { resent: lost, dead: dead.map((row) => row.id) };
  });
}

/**
 * The reconcile cron's task for notifications, in the shape of src/jobs/cron.ts's tasks:
 * reconcile a batch, then send what it picked once its transaction has committed.
 */
export const reconcileNotificationsTask = {
  name: "reconcile-notifications",
  run: async ({ db }: DatabaseHandle, env: Bindings, config: Config): Promise<Record<string, unknown>> => {
    const { resent, dead } = await reconcileNotifications(db, {
      now: clock.now(),
      batchSize: config.RECONCILE_BATCH_SIZE,
    });
    await sendNotifications(env.NOTIFY_QUEUE, resent);
    return { resent: resent.length, dead: dead.length };
  },
};

/** Picks and locks in a statement of its own (see reconcile.ts of the jobs for why). */
async function oldestDue(tx: Tx, where: ReturnType<typeof and>, limit: number): Promise<string[]> {
  const rows = await tx
    .select({ id: notifications.id })
    .from(notifications)
    .where(where)
    .orderBy(asc(notifications.nextAttemptAt), asc(notifications.id))
    .limit(limit)
    .for("update", { skipLocked: true });
  return rows.map((row) => row.id);
}
