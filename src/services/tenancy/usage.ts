/** Every quota of a tenant with its limit and current use. */
import { batchAsTenant, type HttpDatabase } from "../../db/client";
import type { Config } from "../../env";
import { requestsPerHour } from "../platform/metrics";
import { tenantPolicy, usedInWindow } from "../platform/rate-limit";
import { effectiveQuotas, type PlanSubject, QUOTAS, type Quota } from "./plans";
import { usageCountsQuery } from "./quotas";

export interface QuotaUsage {
  limit: number;
  /** `null` where the API does not track use (namespace resources live in the cluster). */
  used: number | null;
}

export async function tenantUsage(http: HttpDatabase, config: Config, tenant: { id: string } & PlanSubject) {
  const limits = effectiveQuotas(tenant);
  const [[counts], calls, perHour] = await Promise.all([
    batchAsTenant(http, tenant.id, (db) => usageCountsQuery(db, tenant.id)),
    usedInWindow(config, tenantPolicy(limits.api_calls_per_hour), `tenant:${tenant.id}`),
    requestsPerHour(config, tenant.id).catch(() => []),
  ]);
  const quotas = Object.fromEntries(
    QUOTAS.map((quota) => {
      const used =
        quota === "api_calls_per_hour"
          ? calls
          : ((counts as Partial<Record<Quota, number>> | undefined)?.[quota] ?? null);
      return [quota, { limit: limits[quota], used }];
    }),
  ) as Record<Quota, QuotaUsage>;
  return { tenant_id: tenant.id, quotas, requests_per_hour: perHour };
}
