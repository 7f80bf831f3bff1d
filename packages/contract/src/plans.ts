/**
 * Plans with their default quotas and features (docs/architecture.md, "Plans, quotas and
 * features"). The Worker enforces them and sends a tenant's effective namespace quotas with
 * every job; the provisioner turns those into the namespace's ResourceQuota.
 */
export const PLANS = ["free", "basic", "pro", "enterprise"] as const;
export type Plan = (typeof PLANS)[number];

/** Rows a tenant may own, enforced by the Worker when it writes one. */
export const COUNT_QUOTAS = [
  "members",
  "api_keys",
  "clusters",
  "plugins",
  "credentials",
  "webhook_endpoints",
] as const;
/** What the tenant's namespace may consume: the only quotas a job carries. */
export const NAMESPACE_QUOTAS = ["cpu_cores", "memory_gb", "storage_gb", "gpus"] as const;
export const QUOTAS = [...COUNT_QUOTAS, "api_calls_per_hour", ...NAMESPACE_QUOTAS] as const;

/** The largest amount of a namespace quota a job may carry (and so the API accepts). */
export const MAX_NAMESPACE_AMOUNT = 1_000_000;

export type CountQuota = (typeof COUNT_QUOTAS)[number];
export type NamespaceQuota = (typeof NAMESPACE_QUOTAS)[number];
export type Quota = (typeof QUOTAS)[number];
export type Quotas = Record<Quota, number>;
export type NamespaceQuotas = Record<NamespaceQuota, number>;

export const PLAN_QUOTAS: Record<Plan, Quotas> = {
  free: {
    members: 5,
    api_keys: 2,
    clusters: 1,
    plugins: 5,
    credentials: 10,
    webhook_endpoints: 2,
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
    webhook_endpoints: 10,
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
    webhook_endpoints: 50,
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
    webhook_endpoints: 500,
    api_calls_per_hour: 1_000_000,
    cpu_cores: 256,
    memory_gb: 1_024,
    storage_gb: 10_000,
    gpus: 16,
  },
};

/**
 * Load balancers per tenant namespace. They are not overridable per tenant, so the job does
 * not carry them: the provisioner derives them from the plan. Cloud load balancers cost money
 * per instance and expose a tenant directly to the internet, so small plans get none (traffic
 * goes through the shared ingress).
 */
export const PLAN_LOAD_BALANCERS: Record<Plan, number> = {
  free: 0,
  basic: 1,
  pro: 3,
  enterprise: 10,
};

export const FEATURES = ["clusters", "plugins", "credentials", "webhooks", "data_export", "sso"] as const;
export type Feature = (typeof FEATURES)[number];

export const PLAN_FEATURES: Record<Plan, readonly Feature[]> = {
  free: ["clusters", "plugins", "credentials", "webhooks"],
  basic: ["clusters", "plugins", "credentials", "webhooks", "data_export"],
  pro: ["clusters", "plugins", "credentials", "webhooks", "data_export", "sso"],
  enterprise: ["clusters", "plugins", "credentials", "webhooks", "data_export", "sso"],
};

/** Just the namespace quotas of a full set, as a job request carries them. */
export function namespaceQuotas(quotas: NamespaceQuotas): NamespaceQuotas {
  return Object.fromEntries(NAMESPACE_QUOTAS.map((quota) => [quota, quotas[quota]])) as NamespaceQuotas;
}
