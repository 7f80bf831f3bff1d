/**
 * The reconciler (cron every five minutes): the outbox's safety net. A job whose queue message
 * was lost (a send that failed after commit, a consumer that died mid-job, a retry message
 * that never came back) is sent again; a job that has used up its attempts without an
 * answer is marked `dead`. Both steps take at most RECONCILE_BATCH_SIZE jobs, oldest first,
 * and lock them with `for update skip locked`, so overlapping runs never send a job twice.
 */
import { and, asc, eq, gte, inArray, lt, or, sql } from "drizzle-orm";
import { type Database, type Tx, withSystem } from "../db/client";
import { provisioningJobs } from "../db/schema";
import { MAX_ATTEMPTS, MAX_RETRY_DELAY_MS, STALE_AFTER_MS } from "./policy";

export interface ReconcileResult {
  resent: string[];
  dead: string[];
}

export async function reconcileJobs(
  db: Database,
  opts: { now: number; batchSize: number },
): Promise<ReconcileResult> {
  const at = new Date(opts.now);
  // A `failed` job waits for its retry message, which may be delayed by up to the longest backoff.
  const stale = or(
    and(
      inArray(provisioningJobs.status, ["pending", "sent"]),
      lt(provisioningJobs.updatedAt, new Date(opts.now - STALE_AFTER_MS)),
    ),
    and(
      eq(provisioningJobs.status, "failed"),
      lt(provisioningJobs.updatedAt, new Date(opts.now - STALE_AFTER_MS - MAX_RETRY_DELAY_MS)),
    ),
  );
  return withSystem(db, async (tx) => {
    const exhausted = await oldest(
      tx,
      and(stale, gte(provisioningJobs.attempts, MAX_ATTEMPTS)),
      opts.batchSize,
    );
    const dead =
      exhausted.length === 0
        ? []
        : await tx
            .update(provisioningJobs)
            .set({
              status: "dead",
              lastError: sql`coalesce(${provisioningJobs.lastError}, 'no outcome after ' || ${provisioningJobs.attempts} || ' attempts')`,
              completedAt: at,
              updatedAt: at,
            })
            .where(
              inArray(
                provisioningJobs.id,
                exhausted.map((j) => j.id),
              ),
            )
            .returning({ id: provisioningJobs.id });
    // Touching `updated_at` is what keeps the next run (or an overlapping one) from resending.
    const lost = await oldest(tx, and(stale, lt(provisioningJobs.attempts, MAX_ATTEMPTS)), opts.batchSize);
    const resent =
      lost.length === 0
        ? []
        : await tx
            .update(provisioningJobs)
            .set({ updatedAt: at })
            .where(
              inArray(
                provisioningJobs.id,
                lost.map((j) => j.id),
              ),
            )
            .returning({ id: provisioningJobs.id, createdAt: provisioningJobs.createdAt });
    // RETURNING has no order of its own; send the oldest first as well.
    resent.sort((x, y) => x.createdAt.getTime() - y.createdAt.getTime() || x.id.localeCompare(y.id));
    return { resent: resent.map((r) => r.id), dead: dead.map((r) => r.id) };
  });
}

/**
 * Picks and locks the batch in a statement of its own. Inside the UPDATE (`where id in (…
 * limit n for update skip locked)`) the planner may rescan the sub-select per row, and each
 * rescan skips the rows this very statement already updated — so it updated every stale job,
 * not n.
 */
function oldest(tx: Tx, where: ReturnType<typeof and>, limit: number) {
  return tx
    .select({ id: provisioningJobs.id })
    .from(provisioningJobs)
    .where(where)
    .orderBy(asc(provisioningJobs.createdAt), asc(provisioningJobs.id))
    .limit(limit)
    .for("update", { skipLocked: true });
}
