import {
  JOB_KINDS,
  namespaceQuotas,
  PLAN_LOAD_BALANCERS,
  PLAN_QUOTAS,
  PLANS,
  type Plan,
} from "@tenantry/contract";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { OWNED_NAMESPACED_KINDS, renderTenant, SUSPENDED_ANNOTATION, toYaml } from "../src/manifests";
import { validateAgainstSchema } from "./support/kube-schemas";

const TENANT_ID = "7f3c9a52-1d4e-4b8a-9c2f-5e6d7a8b9c0d";
const tenant = (plan: Plan) => ({
  id: TENANT_ID,
  slug: "acme",
  plan,
  quotas: namespaceQuotas(PLAN_QUOTAS[plan]),
});
const byKind = (objects: ReturnType<typeof renderTenant>, kind: string) => {
  const found = objects.find((obj) => obj.kind === kind);
  if (!found) throw new Error(`no ${kind} rendered`);
  return found;
};

// deprovision renders nothing: it only deletes the namespace.
const APPLYING_KINDS = JOB_KINDS.filter((kind) => kind !== "deprovision");

describe("renderTenant", () => {
  for (const plan of PLANS) {
    for (const kind of APPLYING_KINDS) {
      it(`renders schema-valid manifests for a ${plan} tenant (${kind})`, () => {
        const objects = renderTenant(tenant(plan), { suspended: kind === "suspend" });
        expect(objects.map((obj) => obj.kind)).toEqual([
          "Namespace",
          "ResourceQuota",
          "LimitRange",
          "NetworkPolicy",
          "ServiceAccount",
          "RoleBinding",
        ]);
        for (const obj of objects) expect(() => validateAgainstSchema(obj)).not.toThrow();
      });
    }
  }

  it("names and labels the namespace exactly", () => {
    const ns = byKind(renderTenant(tenant("pro"), { suspended: false }), "Namespace");
    expect(ns.metadata).toEqual({
      name: "tenant-acme",
      labels: {
        "managed-by": "tenantry",
        "tenant-id": TENANT_ID,
        "tenant-slug": "acme",
        "pod-security.kubernetes.io/enforce": "restricted",
        "pod-security.kubernetes.io/enforce-version": "latest",
        "pod-security.kubernetes.io/warn": "restricted",
        "pod-security.kubernetes.io/warn-version": "latest",
      },
    });
  });

  it("puts every other object in the namespace with the owner labels pruning selects on", () => {
    for (const obj of renderTenant(tenant("free"), { suspended: false }).slice(1)) {
      expect(obj.metadata.namespace).toBe("tenant-acme");
      expect(obj.metadata.labels).toEqual({
        "managed-by": "tenantry",
        "tenant-id": TENANT_ID,
        "tenant-slug": "acme",
      });
      expect(OWNED_NAMESPACED_KINDS.some((k) => k.kind === obj.kind && k.apiVersion === obj.apiVersion)).toBe(
        true,
      );
    }
  });

  it("turns the tenant's quotas into the ResourceQuota, with the plan's load balancers and no node ports", () => {
    const quotas = { cpu_cores: 12, memory_gb: 48, storage_gb: 150, gpus: 2 };
    const quota = byKind(renderTenant({ ...tenant("basic"), quotas }, { suspended: false }), "ResourceQuota");
    expect(quota.spec).toEqual({
      hard: {
        "requests.cpu": "12",
        "limits.cpu": "12",
        "requests.memory": "48Gi",
        "limits.memory": "48Gi",
        "requests.storage": "150Gi",
        "requests.nvidia.com/gpu": "2",
        "services.nodeports": "0",
        "services.loadbalancers": String(PLAN_LOAD_BALANCERS.basic),
      },
    });
  });

  it("uses the tenant's own quota numbers, fractions included", () => {
    const quotas = { cpu_cores: 0.5, memory_gb: 1.5, storage_gb: 3, gpus: 0 };
    const quota = byKind(renderTenant({ ...tenant("free"), quotas }, { suspended: false }), "ResourceQuota");
    const hard = (quota.spec as { hard: Record<string, string> }).hard;
    expect(hard["requests.cpu"]).toBe("0.5");
    expect(hard["limits.memory"]).toBe("1.5Gi");
    expect(() => validateAgainstSchema(quota)).not.toThrow();
  });

  it("caps pods at zero and annotates the namespace while suspended", () => {
    const objects = renderTenant(tenant("pro"), { suspended: true });
    expect((byKind(objects, "ResourceQuota").spec as { hard: Record<string, string> }).hard.pods).toBe("0");
    expect(byKind(objects, "Namespace").metadata.annotations).toEqual({ [SUSPENDED_ANNOTATION]: "true" });
  });

  it("leaves the pod cap and the annotation out when active", () => {
    const objects = renderTenant(tenant("pro"), { suspended: false });
    expect(
      (byKind(objects, "ResourceQuota").spec as { hard: Record<string, string> }).hard,
    ).not.toHaveProperty("pods");
    expect(byKind(objects, "Namespace").metadata).not.toHaveProperty("annotations");
  });

  it("admits ingress only from the same namespace and egress to it and to cluster DNS", () => {
    const policy = byKind(renderTenant(tenant("pro"), { suspended: false }), "NetworkPolicy");
    const spec = policy.spec as Record<string, unknown>;
    expect(spec.policyTypes).toEqual(["Ingress", "Egress"]);
    expect(spec.ingress).toEqual([{ from: [{ podSelector: {} }] }]);
    expect(spec.egress).toContainEqual({
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
    });
  });

  it("binds the tenant's admins group to the admin ClusterRole", () => {
    const binding = byKind(renderTenant(tenant("pro"), { suspended: false }), "RoleBinding");
    expect(binding.roleRef).toEqual({
      apiGroup: "rbac.authorization.k8s.io",
      kind: "ClusterRole",
      name: "admin",
    });
    expect(binding.subjects).toContainEqual({
      kind: "Group",
      apiGroup: "rbac.authorization.k8s.io",
      name: "tenantry:acme:admins",
    });
  });

  it("gives containers default requests and limits so quota'd pods schedule", () => {
    const limits = byKind(renderTenant(tenant("free"), { suspended: false }), "LimitRange");
    expect(limits.spec).toEqual({
      limits: [
        {
          type: "Container",
          default: { cpu: "500m", memory: "512Mi" },
          defaultRequest: { cpu: "100m", memory: "128Mi" },
        },
      ],
    });
  });
});

describe("toYaml", () => {
  it("round-trips the rendered objects as multi-document YAML", () => {
    const objects = renderTenant(tenant("enterprise"), { suspended: true });
    const docs = parseAllDocuments(toYaml(objects)).map((doc) => doc.toJS());
    expect(docs).toEqual(objects);
  });
});
