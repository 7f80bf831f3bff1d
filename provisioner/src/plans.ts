/**
 * Plan defaults for a tenant namespace (docs/architecture.md, "Plans, quotas and features"). The Worker sends
 * each tenant's effective quotas with every job; these defaults serve the render CLI and
 * plan-derived limits the job body does not carry.
 */
export const PLANS = ["free", "basic", "pro", "enterprise"] as const;
export type Plan = (typeof PLANS)[number];

export interface NamespaceQuotas {
  cpu_cores: number;
  memory_gb: number;
  storage_gb: number;
  gpus: number;
}

export const PLAN_QUOTAS: Record<Plan, NamespaceQuotas> = {
  free: { cpu_cores: 4, memory_gb: 8, storage_gb: 20, gpus: 0 },
  basic: { cpu_cores: 16, memory_gb: 64, storage_gb: 200, gpus: 1 },
  pro: { cpu_cores: 64, memory_gb: 256, storage_gb: 1000, gpus: 4 },
  enterprise: { cpu_cores: 256, memory_gb: 1024, storage_gb: 10000, gpus: 16 },
};

/**
 * Cloud load balancers cost money per instance and expose a tenant directly to the
 * internet, so small plans get none (traffic goes through the shared ingress).
 */
export const PLAN_LOAD_BALANCERS: Record<Plan, number> = {
  free: 0,
  basic: 1,
  pro: 3,
  enterprise: 10,
};
