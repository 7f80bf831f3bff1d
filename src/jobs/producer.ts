/**
 * The provisioning outbox. A lifecycle change inserts its job row in the same transaction
 * (`enqueueJob`), so the change and the intent to provision commit together; only after the
 * commit is the job id sent to the queue (`dispatchJobs`, off the response path). A send
 * that is lost leaves the row `pending`, and the reconciler cron sends it again.
 */

import type { BatchItem } from "drizzle-orm/batch";
import type { Queryable, Tx } from "../db/client";
import { type JobKind, provisioningJobs } from "../db/schema";
import type { Background } from "../lib/after-response";
import { clock } from "../lib/clock";
import { log } from "../lib/log";
import type { ProvisionQueue } from "./queue";

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
export async function sendJobs(queue: ProvisionQueue, jobIds: string[]): Promise<void> {
  if (jobIds.length === 0) return;
  try {
    await queue.sendBatch(jobIds.map((jobId) => ({ body: { jobId }, contentType: "json" as const })));
  } catch (err) {
    log("warn", "queue send failed; the reconciler will retry", {
      job_ids: jobIds,
      error: err instanceof Error ? err.message : String(err),
    });
  }
}

/** Where a request's jobs go once the transaction that wrote them has committed. */
export interface JobOutbox {
  sendAfterCommit(jobs: ReadonlyArray<{ id: string }>): void;
}

/** Committed jobs are sent off the response path. */
export function jobOutbox(queue: ProvisionQueue, background: Background): JobOutbox {
  return {
    sendAfterCommit: (jobs) => {
      if (jobs.length > 0)
        background(() =>
          sendJobs(
            queue,
            jobs.map((job) => job.id),
          ),
        );
    },
  };
}
