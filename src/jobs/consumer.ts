/**
 * `queue()`: delivers provisioning jobs to the provisioner (docs/architecture.md,
 * "Provisioning"). Per message:
 *
 * 1. claim — mark the job `sent` and count the attempt (its own short transaction, so the
 *    API shows `sent` while the call is under way); a succeeded or dead job is not claimed,
 *    which makes redelivery a no-op;
 * 2. deliver — under a per-tenant lock, read the tenant as it is now, decide what to send
 *    (job-plan.ts), POST it with a token bound to that request and record the outcome in the
 *    same transaction: a dry-run provisioner's answer as `dry_run`, never `succeeded`; a
 *    deprovision whose namespace is really `gone` also purges the tenant there;
 * 3. settle the message (delivery.ts): `ack` when done, `retry` with exponential backoff on
 *    failure, `dead` once MAX_ATTEMPTS deliveries have failed (the message then goes on to
 *    the dead-letter queue of wrangler.toml).
 *
 * Messages of a batch are handled one after another: it keeps one tenant's jobs in order
 * and never needs more than two pooled connections.
 */

import { z } from "zod";
import { type Database, openHttp, withSystem } from "../db/client";
import type { Bindings, Config } from "../env";
import { log } from "../lib/log";
import { provisionerDatabases } from "../moves/provisioning";
import { runMove } from "../moves/runner";
import { effectiveQuotas, namespaceQuotas } from "../services/tenancy/plans";
import { dispatchPending } from "../webhooks/deliveries";
import { relayAndDispatch } from "../webhooks/relay";
import { consumeBatch, type Disposition, handleMessage } from "./delivery";
import { planJob } from "./job-plan";
import {
  claimJob,
  isFinished,
  type JobResult,
  type JobTenant,
  jobStatus,
  loadJobTenant,
  lockTenantJobs,
  recordOutcome,
} from "./job-store";
import { MAX_ATTEMPTS, retryDelaySeconds } from "./policy";
import { type CallOutcome, isPermanent, postJob } from "./provisioner-client";
import { dropDatabases, purgeTenant } from "./purge";

const messageSchema = z.object({ jobId: z.uuid() });
/** A tenant move rides the same queue (src/moves/runner.ts). */
const moveMessageSchema = z.object({ moveId: z.uuid() });

const DRY_RUN_DEPROVISION_NOTE =
  "the provisioner runs in dry-run mode, so no namespace was deleted; the tenant is kept and " +
  "the next purge run tries again";

export function handleQueue(
  batch: MessageBatch<unknown>,
  env: Bindings,
  ctx: ExecutionContext,
): Promise<void> {
  return consumeBatch(batch, env, ctx, async (db, config, message) => {
    if (isMoveMessage(message.body)) {
      await handleMessage(message, {
        what: "tenant move",
        schema: moveMessageSchema,
        fields: ({ moveId }) => ({ move_id: moveId }),
        deliver: ({ moveId }) =>
          runMove(
            config,
            { db, http: openHttp(config), close: async () => {} },
            moveId,
            provisionerDatabases(config),
          ),
      });
      return;
    }
    /** The tenant of the job this delivery claimed, if it claimed one. */
    let tenantId: string | undefined;
    await handleMessage(message, {
      what: "provisioning job",
      schema: messageSchema,
      fields: ({ jobId }) => ({ job_id: jobId }),
      deliver: ({ jobId }) =>
        deliver(db, config, jobId, (claimed) => {
          tenantId = claimed;
        }),
    });
    // A recorded outcome is a `provisioning.*` webhook event (migration 0012's trigger): send it
    // now, through a dedicated tenant's own database (relay.ts). If that fails, the reconcile
    // cron sends it.
    const http = openHttp(config);
    if (tenantId) {
      await relayAndDispatch(config, http, env.WEBHOOK_QUEUE, tenantId, { dedicatedOnly: true }).catch(
        (err: unknown) =>
          log("warn", "webhook relay after a job failed; the reconciler will relay", {
            error: err instanceof Error ? err.message : String(err),
          }),
      );
    }
    await dispatchPending(http, env.WEBHOOK_QUEUE, null).catch((err: unknown) =>
      log("warn", "webhook dispatch after a job failed; the reconciler will send", {
        error: err instanceof Error ? err.message : String(err),
      }),
    );
  });
}

async function deliver(
  db: Database,
  config: Config,
  jobId: string,
  claimed: (tenantId: string) => void,
): Promise<Disposition> {
  const job = await withSystem(db, (tx) => claimJob(tx, jobId));
  if (!job) return { settle: "ack", outcome: "already_finished" };
  claimed(job.tenantId);

  return withSystem(db, async (tx): Promise<Disposition> => {
    await lockTenantJobs(tx, job.tenantId);
    const tenant = await loadJobTenant(tx, job.tenantId, { forUpdate: job.kind === "deprovision" });
    const status = await jobStatus(tx, job.id);
    // Another delivery of the same job finished it while this one waited for the lock.
    if (!tenant || status === undefined || isFinished(status)) {
      return { settle: "ack", outcome: "already_finished" };
    }

    const plan = planJob(job.kind, tenant.status);
    if (plan.action === "skip") {
      await recordOutcome(tx, job.id, { status: "succeeded", result: { skipped: true, note: plan.note } });
      return { settle: "ack", outcome: "skipped" };
    }
    const call = await postJob(config, {
      job: { id: job.id, kind: plan.kind, attempt: job.attempt },
      tenant: requestTenant(tenant),
    });
    const lastAttempt = job.attempt >= MAX_ATTEMPTS;
    const fail = async (error: string, permanent: boolean): Promise<Disposition> => {
      if (lastAttempt || permanent) {
        await recordOutcome(tx, job.id, { status: "dead", error });
        return { settle: "dead", outcome: "dead" };
      }
      await recordOutcome(tx, job.id, { status: "failed", error });
      return { settle: "retry", outcome: "failed", delaySeconds: retryDelaySeconds(job.attempt) };
    };

    if (!call.ok) return fail(call.error, isPermanent(call));

    const result = resultOf(call, plan);
    if (call.answer.status === "dry_run") {
      // Nothing reached a cluster: never `succeeded`, and never a reason to purge.
      if (job.kind === "deprovision") {
        log("warn", "dry-run provisioner: the tenant is not purged", {
          job_id: job.id,
          tenant_id: tenant.id,
        });
      }
      await recordOutcome(tx, job.id, {
        status: "dry_run",
        result: job.kind === "deprovision" ? { ...result, note: DRY_RUN_DEPROVISION_NOTE } : result,
      });
      return { settle: "ack", outcome: "dry_run" };
    }
    if (job.kind === "deprovision") {
      if (call.answer.status === "terminating") {
        if (lastAttempt) {
          const error = `namespace ${call.answer.namespace} was still terminating after ${job.attempt} attempts`;
          await recordOutcome(tx, job.id, { status: "dead", error });
          return { settle: "dead", outcome: "dead" };
        }
        await recordOutcome(tx, job.id, { status: "pending", result });
        return { settle: "retry", outcome: "terminating", delaySeconds: retryDelaySeconds(job.attempt) };
      }
      if (call.answer.status !== "gone") {
        return fail(
          `the provisioner answered ${call.answer.status} to a deprovision; only gone purges`,
          false,
        );
      }
      // The namespace is really gone, and so must its databases be. The job row goes with
      // the tenant; the audit record keeps what happened.
      const dropped = await dropDatabases(tx, config, tenant.id);
      if (!dropped.ok) return fail(dropped.error, false);
      await purgeTenant(tx, tenant, {
        jobId: job.id,
        namespace: call.answer.namespace,
        provisionerStatus: call.answer.status,
        databasesDropped: dropped.dropped,
      });
      return { settle: "ack", outcome: "purged" };
    }
    await recordOutcome(tx, job.id, { status: "succeeded", result });
    return { settle: "ack", outcome: call.answer.status };
  });
}

function isMoveMessage(body: unknown): boolean {
  return typeof body === "object" && body !== null && "moveId" in body;
}

function requestTenant(tenant: JobTenant) {
  return {
    id: tenant.id,
    slug: tenant.slug,
    plan: tenant.plan,
    quotas: namespaceQuotas(effectiveQuotas(tenant)),
  };
}

/** What the job's `result` keeps: the provisioner's answer, and what was sent if it differed. */
function resultOf(
  call: CallOutcome & { ok: true },
  plan: ReturnType<typeof planJob> & { action: "send" },
): JobResult {
  const { job_id: _jobId, ...answer } = call.answer;
  return plan.note ? { ...answer, sent_kind: plan.kind, note: plan.note } : answer;
}
