/**
 * The provisioning outbox. A lifecycle change inserts its job row in the same transaction
 * (`enqueueJob`, `jobInsert`), so the change and the intent to provision commit together;
 * only after the commit is the job id sent to the queue (`jobOutbox`, off the response path).
 * A send that is lost leaves the row `pending`, and the reconciler cron sends it again. The
 * notifications outbox (src/notifications/outbox.ts) sends the same way (`outboxOf`).
 */

import type { BatchItem } from "drizzle-orm/batch";
import type { Queryable, Tx } from "../db/client";
import { type JobKind, provisioningJobs } from "../db/schema";
import type { Background } from "../lib/after-response";
import { clock } from "../lib/clock";
import { log } from "../lib/log";
import type { ProvisionQueue, QueueProducer } from "./queue";

export type EnqueuedJob = {
  id: string;
  kind: JobKind;
  status: string;
};

/**
 * The job's insert as a statement of a write batch: the id is chosen here, so the response
 * (and the dispatch after commit) can name the job before the batch has run.
 */
export function jobInsert(
  db: Queryable,
  tenantId: string,
  kind: JobKind,
): { job: EnqueuedJob; insert: BatchItem<"pg"> } {
  const now = new Date(clock.now());
  const job: EnqueuedJob = { id: crypto.randomUUID(), kind, status: "pending" };
  return {
    job,
    insert: db
      .insert(provisioningJobs)
      .values({ id: job.id, tenantId, kind, createdAt: now, updatedAt: now }),
  };
}

export async function enqueueJob(tx: Tx, tenantId: string, kind: JobKind): Promise<EnqueuedJob> {
  const { job, insert } = jobInsert(tx, tenantId, kind);
  await insert;
  return job;
}

/** Sends committed jobs to the queue; failures are logged and left to the reconciler. */
export function sendJobs(queue: ProvisionQueue, jobIds: string[]): Promise<void> {
  return sendMessages(
    queue,
    jobIds.map((jobId) => ({ jobId })),
    { job_ids: jobIds },
  );
}

/**
 * Sends the messages of committed outbox rows. A failed send is logged (`ids` names the rows)
 * and left to the reconciler, which resends rows whose message never arrived.
 */
export async function sendMessages<Body>(
  queue: QueueProducer<Body>,
  bodies: Body[],
  ids: Record<string, string[]>,
): Promise<void> {
  if (bodies.length === 0) return;
  try {
    await queue.sendBatch(bodies.map((body) => ({ body, contentType: "json" as const })));
  } catch (err) {
    log("warn", "queue send failed; the reconciler will retry", {
      ...ids,
      error: err instanceof Error ? err.message : String(err),
    });
  }
}

/** Where a request's outbox rows go once the transaction that wrote them has committed. */
export interface Outbox {
  sendAfterCommit(rows: ReadonlyArray<{ id: string }>): void;
}

export interface JobOutbox extends Outbox {
  /** A committed tenant move goes to the same queue; its runner waits for its `copy_after`. */
  sendMoveAfterCommit(move: { id: string }): void;
}

/** Committed rows are sent off the response path, by `send`. */
export function outboxOf(send: (ids: string[]) => Promise<void>, background: Background): Outbox {
  return {
    sendAfterCommit: (rows) => {
      if (rows.length > 0) background(() => send(rows.map((row) => row.id)));
    },
  };
}

/** Committed jobs go to the provisioning queue. */
export function jobOutbox(queue: ProvisionQueue, background: Background): JobOutbox {
  return {
    ...outboxOf((ids) => sendJobs(queue, ids), background),
    sendMoveAfterCommit: (move) => background(() => sendMove(queue, move)),
  };
}

/**
 * Sends a committed move at once; a move not yet due answers "retry in N s" itself (its runner
 * waits for `copy_after`). A send delayed at the producer was lost by the local queue broker,
 * and a retry's delay is what both it and Cloudflare honour. A lost send is left to the reconciler.
 */
export function sendMove(queue: ProvisionQueue, move: { id: string }): Promise<void> {
  return sendMessages(queue, [{ moveId: move.id }], { move_ids: [move.id] });
}
