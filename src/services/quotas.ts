/**
 * Count quotas, enforced race-free: a transaction-scoped advisory lock per (tenant, quota)
 * serialises the creates that compete for the same quota, so the count read under the lock
 * is exact and 50 concurrent creates at limit N leave exactly N rows. Plan downgrades below
 * current usage only block new creates; nothing is ever deleted to fit.
 */
import { and, count, eq, isNull, type SQL, sql } from "drizzle-orm";
import type { AnyPgTable } from "drizzle-orm/pg-core";
import type { Tx } from "../db/client";
import { apiKeys, clusters, credentials, invitations, plugins, tenantMemberships } from "../db/schema";
import type { WriteBatch } from "../db/write-batch";
import { Problem } from "../lib/problem";
import { pendingFor } from "./pending-invitations";
import { type CountQuota, effectiveQuotas, type PlanSubject } from "./plans";

export async function countUsage(tx: Tx, tenantId: string, quota: CountQuota): Promise<number> {
  switch (quota) {
    case "members": {
      const [members] = await tx
        .select({ n: count() })
        .from(tenantMemberships)
        .where(eq(tenantMemberships.tenantId, tenantId));
      const [pending] = await tx.select({ n: count() }).from(invitations).where(pendingFor(tenantId));
      return (members?.n ?? 0) + (pending?.n ?? 0);
    }
    case "api_keys": {
      const [row] = await tx
        .select({ n: count() })
        .from(apiKeys)
        .where(and(eq(apiKeys.tenantId, tenantId), isNull(apiKeys.revokedAt)));
      return row?.n ?? 0;
    }
    case "clusters":
      return countRows(tx, clusters, tenantId);
    case "plugins":
      return countRows(tx, plugins, tenantId);
    case "credentials":
      return countRows(tx, credentials, tenantId);
  }
}

async function countRows(
  tx: Tx,
  table: typeof clusters | typeof plugins | typeof credentials,
  tenantId: string,
) {
  const [row] = await tx.select({ n: count() }).from(table).where(eq(table.tenantId, tenantId));
  return row?.n ?? 0;
}

/**
 * Takes the quota's lock for the rest of the transaction and refuses with 429
 * `quota_exceeded` ({quota, limit, used}) when one more would not fit. Call it first
 * thing in the create's transaction.
 */
export async function enforceCountQuota(
  tx: Tx,
  tenant: { id: string } & PlanSubject,
  quota: CountQuota,
  adding = 1,
): Promise<void> {
  await tx.execute(quotaLock(tenant.id, quota));
  const limit = effectiveQuotas(tenant)[quota];
  const used = await countUsage(tx, tenant.id, quota);
  if (used + adding > limit) {
    throw new Problem(
      "quota_exceeded",
      `The ${quota} quota of this tenant is used up (${used} of ${limit}).`,
      {
        extensions: { quota, limit, used },
      },
    );
  }
}

/** The rows a quota counts, as a scalar subquery (for a write batch's guard). */
function usageSql(tenantId: string, quota: CountQuota): SQL {
  const counted = (table: AnyPgTable, where: SQL | undefined) =>
    sql`(select count(*)::int from ${table} where ${where})`;
  switch (quota) {
    case "members":
      return sql`(${counted(tenantMemberships, eq(tenantMemberships.tenantId, tenantId))} + ${counted(invitations, pendingFor(tenantId))})`;
    case "api_keys":
      return counted(apiKeys, and(eq(apiKeys.tenantId, tenantId), isNull(apiKeys.revokedAt)));
    case "clusters":
      return counted(clusters, eq(clusters.tenantId, tenantId));
    case "plugins":
      return counted(plugins, eq(plugins.tenantId, tenantId));
    case "credentials":
      return counted(credentials, eq(credentials.tenantId, tenantId));
  }
}

/**
 * `enforceCountQuota` inside a write batch: the lock and the check are two statements, so the
 * check's snapshot is taken after the lock is granted and counts every create that held it
 * before (one statement's snapshot would predate the wait, and the quota could be overrun).
 * Add it before the insert it guards.
 */
export function guardCountQuota(
  batch: WriteBatch,
  tenant: { id: string } & PlanSubject,
  quota: CountQuota,
  adding = 1,
): void {
  batch.do(quotaLock(tenant.id, quota));
  const limit = effectiveQuotas(tenant)[quota];
  batch.failWhen(sql`u.used + ${adding}::int > ${limit}::int`, {
    code: "quota_exceeded",
    from: sql`(select ${usageSql(tenant.id, quota)} as used) u`,
    detail: sql`format('The %s quota of this tenant is used up (%s of %s).', ${quota}::text, u.used, ${limit}::int)`,
    extensions: sql`jsonb_build_object('quota', ${quota}::text, 'limit', ${limit}::int, 'used', u.used)`,
  });
}

const quotaLock = (tenantId: string, quota: CountQuota) =>
  sql`select pg_advisory_xact_lock(hashtextextended(${`quota:${quota}:${tenantId}`}, 0))`;
