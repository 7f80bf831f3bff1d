/**
 * Plans: the defaults per plan come from the contract the provisioner shares
 * (`@tenantry/contract`, docs/architecture.md "Plans, quotas and features"); this adds the
 * effective values for one tenant once its overrides are applied.
 */
import {
  FEATURES,
  type Feature,
  PLAN_FEATURES,
  PLAN_QUOTAS,
  type Plan,
  QUOTAS,
  type Quotas,
} from "@tenantry/contract";

export {
  COUNT_QUOTAS,
  type CountQuota,
  FEATURES,
  type Feature,
  MAX_NAMESPACE_AMOUNT,
  NAMESPACE_QUOTAS,
  namespaceQuotas,
  PLAN_FEATURES,
  PLAN_QUOTAS,
  QUOTAS,
  type Quota,
  type Quotas,
} from "@tenantry/contract";

export interface PlanSubject {
  plan: Plan;
  quotaOverrides: Record<string, number>;
  features: Record<string, boolean>;
}

export function effectiveQuotas(tenant: PlanSubject): Quotas {
  const quotas = { ...PLAN_QUOTAS[tenant.plan] };
  for (const quota of QUOTAS) {
    const override = tenant.quotaOverrides[quota];
    if (typeof override === "number" && Number.isFinite(override) && override >= 0) quotas[quota] = override;
  }
  return quotas;
}

export function effectiveFeatures(tenant: PlanSubject): Record<Feature, boolean> {
  const enabled = new Set<Feature>(PLAN_FEATURES[tenant.plan]);
  return Object.fromEntries(
    FEATURES.map((f) => [f, typeof tenant.features[f] === "boolean" ? tenant.features[f] : enabled.has(f)]),
  ) as Record<Feature, boolean>;
}
