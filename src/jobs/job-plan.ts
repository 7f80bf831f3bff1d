/**
 * What a job sends, decided from the tenant as it is *now*. The provisioner applies
 * whatever arrives last, and queue messages can arrive in any order (retries, reconciler
 * resends), so a job's kind says *why* the namespace must change while the tenant row says
 * *what* it must look like:
 *
 * - a suspended tenant is always sent as `suspend` (full apply, quota `pods: 0`), whatever
 *   the job's kind, so a late `provision` or `update_quota` cannot lift a suspension;
 * - an active tenant's `suspend` or `resume` job is sent as `resume`, so an old `suspend`
 *   arriving after a newer `resume` re-applies the active state instead of suspending;
 * - quotas and plan are always read from the tenant row at send time, so an old
 *   `update_quota` carries the newest quotas;
 * - a deleted tenant's namespace is touched only by `deprovision`, and `deprovision` only
 *   runs while the tenant is still deleted (a restore in between keeps the namespace).
 *
 * The consumer also serialises the jobs of one tenant (see consumer.ts), so the last job
 * to reach the provisioner is the one that read the newest tenant state.
 */
import type { JobKind, TenantStatus } from "../db/schema";

export type JobPlan = { action: "send"; kind: JobKind; note?: string } | { action: "skip"; note: string };

export function planJob(kind: JobKind, status: TenantStatus): JobPlan {
  if (kind === "deprovision") {
    return status === "deleted"
      ? { action: "send", kind }
      : { action: "skip", note: `the tenant is ${status} again; its namespace stays` };
  }
  if (status === "deleted") {
    return { action: "skip", note: "the tenant is deleted; only its deprovision job touches the namespace" };
  }
  const desired: JobKind =
    status === "suspended" ? "suspend" : kind === "suspend" || kind === "resume" ? "resume" : kind;
  if (desired === kind) return { action: "send", kind };
  return {
    action: "send",
    kind: desired,
    note: `the tenant is ${status} now, so its current state was applied as ${desired} instead of ${kind}`,
  };
}
