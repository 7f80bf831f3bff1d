/**
 * Purging tenants past retention (docs/architecture.md, "Tenant lifecycle"), in two steps:
 *
 * 1. `enqueuePurges` (cron `0 3 * * *`): every tenant `deleted` for longer than
 *    RETENTION_DAYS that has no deprovision job under way gets one, oldest deletion first,
 *    at most PURGE_BATCH_SIZE per run.
 * 2. `purgeTenant` (the queue consumer, when that job has succeeded): in the same
 *    transaction as the job's success, a system audit record `tenant.purged` is written and
 *    the tenant row is deleted; every tenant table cascades from it, `tenant_keys` included,
 *    so the data key is destroyed with the data. The slug is free again. A dedicated
 *    tenant's database (and any earlier one not dropped yet) is dropped first, through the
 *    provisioner (`dropDatabases`); the tombstone names them.
 *
 * Overlapping runs are safe: candidates are locked with `for update skip locked`, so two
 * runs never pick the same tenant, and the "no job under way" condition is checked again
 * after the lock is held, in a fresh statement that sees every job committed before it.
 */

import { and, asc, eq, inArray, lt, ne, notExists, sql } from "drizzle-orm";
import { type Database, type Tx, withSystem } from "../db/client";
import { provisioningJobs, tenantDatabases, tenants } from "../db/schema";
import type { Config } from "../env";
import { clock, DAY_MS } from "../lib/clock";
import { recordAudit } from "../services/tenancy/audit";
import { forgetTenant } from "../services/tenancy/tenant-directory";
import type { JobTenant } from "./job-store";
import { enqueueJob } from "./producer";
import { dropTenantDatabase } from "./provisioner-client";

/** A deprovision job that is still going: a tenant with one gets no second. */
const deprovisionUnderWay = and(
  eq(provisioningJobs.kind, "deprovision"),
  inArray(provisioningJobs.status, ["pending", "sent", "failed"]),
);
const SYSTEM_ACTOR = { principal: undefined, requestId: null, ip: null };

export interface PurgeEnqueueResult {
  jobIds: string[];
  /** The batch was full: more tenants may be due, and the next run continues. */
  batchFull: boolean;
}

export async function enqueuePurges(
  db: Database,
  opts: { now: number; retentionDays: number; batchSize: number },
): Promise<PurgeEnqueueResult> {
  const cutoff = new Date(opts.now - opts.retentionDays * DAY_MS);
  return withSystem(db, async (tx) => {
    const candidates = await tx
      .select({ id: tenants.id })
      .from(tenants)
      .where(
        and(
          eq(tenants.status, "deleted"),
          lt(tenants.deletedAt, cutoff),
          notExists(
            tx
              .select({ one: sql`1` })
              .from(provisioningJobs)
              .where(and(eq(provisioningJobs.tenantId, tenants.id), deprovisionUnderWay)),
          ),
        ),
      )
      .orderBy(asc(tenants.deletedAt), asc(tenants.id))
      .limit(opts.batchSize)
      .for("update", { skipLocked: true });
    if (candidates.length === 0) return { jobIds: [], batchFull: false };

    // Re-checked under the lock: a run that committed a job for one of these tenants after
    // the select above took its snapshot is visible to this new statement.
    const busy = await tx
      .selectDistinct({ tenantId: provisioningJobs.tenantId })
      .from(provisioningJobs)
      .where(
        and(
          inArray(
            provisioningJobs.tenantId,
            candidates.map((c) => c.id),
          ),
          deprovisionUnderWay,
        ),
      );
    const skip = new Set(busy.map((b) => b.tenantId));
    const jobIds: string[] = [];
    for (const { id } of candidates) {
      if (!skip.has(id)) jobIds.push((await enqueueJob(tx, id, "deprovision")).id);
    }
    return { jobIds, batchFull: candidates.length === opts.batchSize };
  });
}

/**
 * Drops every database of the tenant not dropped yet, through the provisioner (idempotent: an
 * unknown one is "gone"), and marks it dropped; the first failure stops the purge, to be retried.
 */
export async function dropDatabases(
  tx: Tx,
  config: Pick<Config, "PROVISIONER_URL" | "PROVISIONER_SECRET">,
  tenantId: string,
): Promise<{ ok: true; dropped: string[] } | { ok: false; error: string }> {
  const databases = await tx
    .select({ id: tenantDatabases.id, ref: tenantDatabases.ref })
    .from(tenantDatabases)
    .where(and(eq(tenantDatabases.tenantId, tenantId), ne(tenantDatabases.status, "dropped")));
  for (const database of databases) {
    const outcome = await dropTenantDatabase(config, { tenantId, ref: database.ref });
    if (!outcome.ok) return { ok: false, error: `dropping database ${database.ref}: ${outcome.error}` };
    await tx
      .update(tenantDatabases)
      .set({ status: "dropped", droppedAt: new Date(clock.now()) })
      .where(eq(tenantDatabases.id, database.id));
  }
  return { ok: true, dropped: databases.map((database) => database.ref) };
}

/**
 * Call with the tenant row locked (`for update`), its deprovision job just succeeded and its
 * databases dropped (`dropDatabases`).
 */
export async function purgeTenant(
  tx: Tx,
  tenant: JobTenant,
  details: { jobId: string; namespace: string; provisionerStatus: string; databasesDropped: string[] },
): Promise<void> {
  await recordAudit(tx, SYSTEM_ACTOR, {
    tenantId: null,
    action: "tenant.purged",
    targetType: "tenant",
    targetId: tenant.id,
    meta: {
      tenant_id: tenant.id,
      slug: tenant.slug,
      namespace: details.namespace,
      deleted_at: tenant.deletedAt?.toISOString() ?? null,
      deprovision_job_id: details.jobId,
      provisioner_status: details.provisionerStatus,
      databases_dropped: details.databasesDropped,
    },
  });
  await tx.delete(tenants).where(eq(tenants.id, tenant.id));
  forgetTenant(tenant);
}
