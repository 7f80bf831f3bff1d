/**
 * Plans: default quotas and features per plan (docs/architecture.md, "Plans, quotas and features"), and the
 * effective values for one tenant once its overrides are applied.
 */
import type { Plan } from "../db/schema";

export const COUNT_QUOTAS = ["members", "api_keys", "clusters", "plugins", "credentials"] as const;
export const NAMESPACE_QUOTAS = ["cpu_cores", "memory_gb", "storage_gb", "gpus"] as const;
export const QUOTAS = [...COUNT_QUOTAS, "api_calls_per_hour", ...NAMESPACE_QUOTAS] as const;

export type CountQuota = (typeof COUNT_QUOTAS)[number];
export type Quota = (typeof QUOTAS)[number];
export type Quotas = Record<Quota, number>;

export const PLAN_QUOTAS: Record<Plan, Quotas> = {
  free: {
    members: 5,
    api_keys: 2,
    clusters: 1,
    plugins: 5,
    credentials: 10,
    api_calls_per_hour: 1_000,
    cpu_cores: 4,
    memory_gb: 8,
    storage_gb: 20,
    gpus: 0,
  },
  basic: {
    members: 20,
    api_keys: 10,
    clusters: 5,
    plugins: 25,
    credentials: 100,
    api_calls_per_hour: 10_000,
    cpu_cores: 16,
    memory_gb: 64,
    storage_gb: 200,
    gpus: 1,
  },
  pro: {
    members: 100,
    api_keys: 50,
    clusters: 20,
    plugins: 100,
    credentials: 1_000,
    api_calls_per_hour: 100_000,
    cpu_cores: 64,
    memory_gb: 256,
    storage_gb: 1_000,
    gpus: 4,
  },
  enterprise: {
    members: 1_000,
    api_keys: 500,
    clusters: 100,
    plugins: 1_000,
    credentials: 10_000,
    api_calls_per_hour: 1_000_000,
    cpu_cores: 256,
    memory_gb: 1_024,
    storage_gb: 10_000,
    gpus: 16,
  },
};

export const FEATURES = ["clusters", "plugins", "credentials", "data_export", "sso"] as const;
export type Feature = (typeof FEATURES)[number];

export const PLAN_FEATURES: Record<Plan, readonly Feature[]> = {
  free: ["clusters", "plugins", "credentials"],
  basic: ["clusters", "plugins", "credentials", "data_export"],
  pro: ["clusters", "plugins", "credentials", "data_export", "sso"],
  enterprise: ["clusters", "plugins", "credentials", "data_export", "sso"],
};

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
