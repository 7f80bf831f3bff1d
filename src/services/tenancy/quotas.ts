/**
 * Count quotas, enforced race-free inside a create's write batch: a transaction-scoped advisory
 * lock per (tenant, quota) serialises the creates that compete for the same quota, so the
 * count read after the lock is exact and 50 concurrent creates at limit N leave exactly N
 * rows. Plan downgrades below current usage only block new creates; nothing is ever deleted.
 */
import { and, eq, isNull, type SQL, sql } from "drizzle-orm";
import type { AnyPgTable } from "drizzle-orm/pg-core";
import type { Queryable } from "../../db/client";
import {
  apiKeys,
  clusters,
  credentials,
  invitations,
  plugins,
  tenantMemberships,
  webhookEndpoints,
} from "../../db/schema";
import type { WriteBatch } from "../../db/write-batch";
import { pendingFor } from "../access/pending-invitations";
import { COUNT_QUOTAS, type CountQuota, effectiveQuotas, type PlanSubject } from "./plans";

/** Every count quota's current use, as one row of one query (for a batch). */
export function usageCountsQuery(db: Queryable, tenantId: string) {
  const columns = Object.fromEntries(
    COUNT_QUOTAS.map((quota) => [quota, sql<number>`${usageSql(tenantId, quota)}`.as(quota)]),
  ) as Record<CountQuota, SQL.Aliased<number>>;
  return db.select(columns).from(sql`(select 1) as one`);
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
    case "webhook_endpoints":
      return counted(webhookEndpoints, eq(webhookEndpoints.tenantId, tenantId));
  }
}

/**
 * Refuses the batch with 429 `quota_exceeded` ({quota, limit, used}) when `adding` more would
 * not fit. The lock and the check are two statements, so the check's snapshot is taken after
 * the lock is granted and counts every create that held it before (one statement's snapshot
 * would predate the wait, and the quota could be overrun). Add it before the insert it guards.
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
