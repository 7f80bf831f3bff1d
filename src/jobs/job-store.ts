/**
 * The consumer's reads and writes of `provisioning_jobs` and of the job's tenant. All of it
 * runs in `withSystem` transactions: the queue has no request, hence no tenant scope.
 */
import { and, eq, notInArray, sql } from "drizzle-orm";
import type { Tx } from "../db/client";
import { type JobKind, type JobStatus, provisioningJobs, tenants } from "../db/schema";
import { clock } from "../lib/clock";

export interface ClaimedJob {
  id: string;
  tenantId: string;
  kind: JobKind;
  /** This delivery's attempt number: the job's `attempts` after counting it. */
  attempt: number;
}

const now = () => new Date(clock.now());

/** A job in one of these states is never sent again. `dry_run`: a dry-run provisioner answered. */
export const FINISHED_JOB_STATUSES = ["succeeded", "dry_run", "dead"] as const satisfies JobStatus[];

export function isFinished(status: JobStatus): boolean {
  return (FINISHED_JOB_STATUSES as readonly JobStatus[]).includes(status);
}

/**
 * Marks the job `sent` and counts the attempt, in one statement that also refuses a job
 * that already finished: redelivering a succeeded (dry-run, dead) job claims nothing.
 */
export async function claimJob(tx: Tx, jobId: string): Promise<ClaimedJob | undefined> {
  const at = now();
  const [job] = await tx
    .update(provisioningJobs)
    .set({ status: "sent", attempts: sql`${provisioningJobs.attempts} + 1`, sentAt: at, updatedAt: at })
    .where(
      and(eq(provisioningJobs.id, jobId), notInArray(provisioningJobs.status, [...FINISHED_JOB_STATUSES])),
    )
    .returning({
      id: provisioningJobs.id,
      tenantId: provisioningJobs.tenantId,
      kind: provisioningJobs.kind,
      attempt: provisioningJobs.attempts,
    });
  return job;
}

/**
 * Serialises the jobs of one tenant until the transaction ends, so two of its jobs never
 * reach the provisioner at the same time and the later one always reads the newer state.
 * An advisory lock, not the tenant row: lifecycle writes to the tenant must not wait for it.
 */
export async function lockTenantJobs(tx: Tx, tenantId: string): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`provisioning:${tenantId}`}, 0))`);
}

export type JobTenant = Pick<
  typeof tenants.$inferSelect,
  "id" | "slug" | "status" | "plan" | "quotaOverrides" | "features" | "deletedAt"
>;

/** `forUpdate` for deprovision: nothing may restore (or purge) the tenant while its namespace goes. */
export async function loadJobTenant(
  tx: Tx,
  tenantId: string,
  opts: { forUpdate: boolean },
): Promise<JobTenant | undefined> {
  const query = tx
    .select({
      id: tenants.id,
      slug: tenants.slug,
      status: tenants.status,
      plan: tenants.plan,
      quotaOverrides: tenants.quotaOverrides,
      features: tenants.features,
      deletedAt: tenants.deletedAt,
    })
    .from(tenants)
    .where(eq(tenants.id, tenantId));
  const [tenant] = await (opts.forUpdate ? query.for("update") : query);
  return tenant;
}

export async function jobStatus(tx: Tx, jobId: string): Promise<JobStatus | undefined> {
  const [row] = await tx
    .select({ status: provisioningJobs.status })
    .from(provisioningJobs)
    .where(eq(provisioningJobs.id, jobId));
  return row?.status;
}

export type JobResult = Record<string, unknown>;

/** The outcomes a delivery can record. */
export type Recorded =
  | { status: "succeeded"; result: JobResult }
  /** A dry-run provisioner answered: finished, but nothing reached a cluster. */
  | { status: "dry_run"; result: JobResult }
  /** Not done yet but not an error (a namespace still terminating): retried like a failure. */
  | { status: "pending"; result: JobResult }
  | { status: "failed"; error: string }
  | { status: "dead"; error: string };

export async function recordOutcome(tx: Tx, jobId: string, outcome: Recorded): Promise<void> {
  const at = now();
  const fields =
    outcome.status === "succeeded" || outcome.status === "dry_run"
      ? { result: outcome.result, lastError: null, completedAt: at }
      : outcome.status === "pending"
        ? { result: outcome.result }
        : outcome.status === "dead"
          ? { lastError: outcome.error, completedAt: at }
          : { lastError: outcome.error };
  await tx
    .update(provisioningJobs)
    .set({ status: outcome.status, updatedAt: at, ...fields })
    .where(eq(provisioningJobs.id, jobId));
}
