/**
 * The moves' safety net (reconcile cron, every five minutes): a move not finished whose row
 * nobody has touched for a while lost its queue message (a send that failed after commit, a
 * runner that died, retries the queue gave up on) and is sent again. A `failed` move waits for
 * its backoff first. Overlapping runs are harmless: touching `updated_at` keeps the next run
 * from resending, and the runner holds one lock per move.
 */
import { sql } from "drizzle-orm";
import type { DatabaseHandle, HttpDatabase } from "../db/client";
import { tenantMoves } from "../db/schema";
import { WriteBatch } from "../db/write-batch";
import type { Bindings, Config } from "../env";
import { STALE_AFTER_MS } from "../jobs/policy";
import { sendMove } from "../jobs/producer";
import { clock } from "../lib/clock";

/** The longest backoff a failed move waits for (retryDelaySeconds of its 7th failure). */
const MAX_MOVE_RETRY_DELAY_MS = 5 * 2 ** 6 * 1000;

export async function reconcileMoves(
  http: HttpDatabase,
  opts: { now: number; batchSize: number },
): Promise<{ id: string; copyAfter: Date }[]> {
  const now = new Date(opts.now).toISOString();
  const stale = new Date(opts.now - STALE_AFTER_MS).toISOString();
  const failedStale = new Date(opts.now - STALE_AFTER_MS - MAX_MOVE_RETRY_DELAY_MS).toISOString();
  const batch = new WriteBatch(http, { system: true });
  const resent = batch.add(
    batch.db
      .update(tenantMoves)
      .set({ updatedAt: sql`${now}::timestamptz` })
      .where(
        sql`${tenantMoves.id} = any (array(
          select m.id from tenant_moves m
          where (m.status in ('pending', 'copying', 'switched') and m.updated_at < ${stale}::timestamptz)
             or (m.status = 'failed' and m.updated_at < ${failedStale}::timestamptz)
          order by m.updated_at, m.id limit ${opts.batchSize} for update skip locked))`,
      )
      .returning({ id: tenantMoves.id, copyAfter: tenantMoves.copyAfter }),
  );
  await batch.run();
  return resent.value;
}

export const reconcileMovesTask = {
  name: "reconcile-moves",
  run: async ({ http }: DatabaseHandle, env: Bindings, config: Config): Promise<Record<string, unknown>> => {
    const moves = await reconcileMoves(http, { now: clock.now(), batchSize: config.RECONCILE_BATCH_SIZE });
    for (const move of moves) await sendMove(env.PROVISION_QUEUE, move);
    return { resent: moves.length };
  },
};
