/**
 * Count quotas, enforced race-free: a transaction-scoped advisory lock per (tenant, quota)
 * serialises the creates that compete for the same quota, so the count read under the lock
 * is exact and 50 concurrent creates at limit N leave exactly N rows. Plan downgrades below
 * current usage only block new creates; nothing is ever deleted to fit.
 */
import { and, count, eq, isNull, sql } from "drizzle-orm";
import type { Tx } from "../db/client";
import { apiKeys, clusters, credentials, invitations, plugins, tenantMemberships } from "../db/schema";
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
  await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`quota:${quota}:${tenant.id}`}, 0))`);
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
