/**
 * Pure rendering of everything a tenant namespace consists of. No I/O: the same objects
 * are applied to the cluster, printed by the CLI and logged in dry-run mode.
 */
import { type JobRequest, namespaceName, type ObjectRef, PLAN_LOAD_BALANCERS } from "@tenantry/contract";
import { stringify } from "yaml";

export interface ObjectMeta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}

/** The tenant as a job request carries it; the render CLI fills it from the plan's defaults. */
export type TenantSpec = JobRequest["tenant"];

export const MANAGED_BY = "tenantry";
export const SUSPENDED_ANNOTATION = "tenantry.dev/suspended";

/** The kinds this provisioner creates inside a tenant namespace: the ones pruning looks at. */
export const OWNED_NAMESPACED_KINDS = [
  { apiVersion: "v1", kind: "ResourceQuota" },
  { apiVersion: "v1", kind: "LimitRange" },
  { apiVersion: "v1", kind: "ServiceAccount" },
  { apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy" },
  { apiVersion: "rbac.authorization.k8s.io/v1", kind: "RoleBinding" },
] as const;

const RBAC_GROUP = "rbac.authorization.k8s.io";
const POD_SECURITY_LABELS = {
  "pod-security.kubernetes.io/enforce": "restricted",
  "pod-security.kubernetes.io/enforce-version": "latest",
  "pod-security.kubernetes.io/warn": "restricted",
  "pod-security.kubernetes.io/warn-version": "latest",
};

/** The identity-provider group whose members administer the tenant's namespace. */
export function adminGroup(slug: string): string {
  return `tenantry:${slug}:admins`;
}

/** Label selector matching every object this provisioner owns for one tenant. */
export function ownerSelector(tenantId: string): string {
  return `managed-by=${MANAGED_BY},tenant-id=${tenantId}`;
}

export function refOf(obj: KubeObject): ObjectRef {
  const { apiVersion, kind, metadata } = obj;
  return metadata.namespace
    ? { apiVersion, kind, name: metadata.name, namespace: metadata.namespace }
    : { apiVersion, kind, name: metadata.name };
}

/** Namespace first: everything else lives in it. */
export function renderTenant(tenant: TenantSpec, opts: { suspended: boolean }): KubeObject[] {
  const namespace = namespaceName(tenant.slug);
  const labels = ownerLabels(tenant);
  const meta = (name: string): ObjectMeta => ({ name, namespace, labels });
  return [
    {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: {
        name: namespace,
        labels: { ...labels, ...POD_SECURITY_LABELS },
        // Omitted when active: server-side apply then removes the annotation it owned.
        ...(opts.suspended ? { annotations: { [SUSPENDED_ANNOTATION]: "true" } } : {}),
      },
    },
    {
      apiVersion: "v1",
      kind: "ResourceQuota",
      metadata: meta("tenant-quota"),
      spec: { hard: quotaHard(tenant, opts.suspended) },
    },
    {
      apiVersion: "v1",
      kind: "LimitRange",
      metadata: meta("tenant-defaults"),
      spec: {
        // A quota on limits.cpu/limits.memory rejects pods that set none; these defaults
        // let ordinary pods schedule without every tenant spelling out resources.
        limits: [
          {
            type: "Container",
            default: { cpu: "500m", memory: "512Mi" },
            defaultRequest: { cpu: "100m", memory: "128Mi" },
          },
        ],
      },
    },
    {
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: meta("tenant-isolation"),
      spec: {
        podSelector: {},
        policyTypes: ["Ingress", "Egress"],
        // An empty podSelector without namespaceSelector means "pods of this namespace".
        ingress: [{ from: [{ podSelector: {} }] }],
        egress: [
          { to: [{ podSelector: {} }] },
          {
            to: [
              {
                namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } },
                podSelector: { matchLabels: { "k8s-app": "kube-dns" } },
              },
            ],
            ports: [
              { protocol: "UDP", port: 53 },
              { protocol: "TCP", port: 53 },
            ],
          },
        ],
      },
    },
    {
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: meta("tenant-admin"),
      // Only workloads that opt in get a token mounted.
      automountServiceAccountToken: false,
    },
    {
      apiVersion: `${RBAC_GROUP}/v1`,
      kind: "RoleBinding",
      metadata: meta("tenant-admins"),
      roleRef: { apiGroup: RBAC_GROUP, kind: "ClusterRole", name: "admin" },
      subjects: [
        { kind: "Group", apiGroup: RBAC_GROUP, name: adminGroup(tenant.slug) },
        { kind: "ServiceAccount", name: "tenant-admin", namespace },
      ],
    },
  ];
}

/** Multi-document YAML, the format kubectl and the dry-run log use. */
export function toYaml(objects: KubeObject[]): string {
  return objects.map((obj) => stringify(obj)).join("---\n");
}

function ownerLabels(tenant: TenantSpec): Record<string, string> {
  return { "managed-by": MANAGED_BY, "tenant-id": tenant.id, "tenant-slug": tenant.slug };
}

function quotaHard(tenant: TenantSpec, suspended: boolean): Record<string, string> {
  const { cpu_cores, memory_gb, storage_gb, gpus } = tenant.quotas;
  return {
    "requests.cpu": String(cpu_cores),
    "limits.cpu": String(cpu_cores),
    "requests.memory": `${memory_gb}Gi`,
    "limits.memory": `${memory_gb}Gi`,
    "requests.storage": `${storage_gb}Gi`,
    "requests.nvidia.com/gpu": String(gpus),
    // NodePorts open a port on every node of a shared cluster: never for tenants.
    "services.nodeports": "0",
    "services.loadbalancers": String(PLAN_LOAD_BALANCERS[tenant.plan]),
    // Suspension stops new pods; resume re-renders without the cap.
    ...(suspended ? { pods: "0" } : {}),
  };
}
