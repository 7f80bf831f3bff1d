import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { OWNED_NAMESPACED_KINDS } from "../src/manifests";
import { type RunningProvisioner, startProvisioner } from "../src/server";
import { type FakeKubeApi, type FakeObject, startFakeKubeApi } from "./support/fake-kube-api";
import { FAKE_RESOURCES } from "./support/fake-kube-protocol";
import { jobRequest, newTenant, postJob, TEST_SECRET } from "./support/jobs-fixture";
import { validateAgainstSchema } from "./support/kube-schemas";

interface PodSpec {
  securityContext: Record<string, unknown>;
  containers: { securityContext?: Record<string, unknown> }[];
}

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}

const load = (file: string) =>
  parseAllDocuments(readFileSync(new URL(`../deploy/${file}`, import.meta.url), "utf8")).map(
    (doc) => doc.toJS() as FakeObject,
  );
const deployment = load("provisioner.yaml");
const policy = load("admission-policy.yaml");
const clusterRole = deployment.find((doc) => doc.kind === "ClusterRole") as FakeObject & { rules: Rule[] };

/** Every (group, resource, verb) the provisioner's requests to the fake API needed. */
async function permissionsUsed(): Promise<Set<string>> {
  const fake: FakeKubeApi = await startFakeKubeApi();
  const provisioner: RunningProvisioner = await startProvisioner({
    port: 0,
    secret: TEST_SECRET,
    server: fake.url,
    log: () => {},
  });
  try {
    const tenant = newTenant();
    expect((await postJob(provisioner.url, jobRequest("provision", tenant))).status).toBe(200);
    // One stale owned object of every kind, so pruning has something to delete.
    const labels = { "managed-by": "tenantry", "tenant-id": tenant.id };
    const namespace = `tenant-${tenant.slug}`;
    for (const { kind } of OWNED_NAMESPACED_KINDS) {
      const live = [...fake.objects.values()].find(
        (o) => o.kind === kind && o.metadata.namespace === namespace,
      );
      if (!live) throw new Error(`${kind} was not applied`);
      fake.seed({ ...live, metadata: { name: "stale", namespace, labels } });
    }
    for (const kind of ["suspend", "update_quota", "resume", "deprovision"] as const) {
      const res = await postJob(provisioner.url, jobRequest(kind, tenant));
      expect(res.status).toBe(200);
      if (kind === "suspend") expect(res.body.pruned).toHaveLength(OWNED_NAMESPACED_KINDS.length);
    }
    const used = new Set<string>();
    for (const { method, path } of fake.requests) {
      const match = /^\/(?:api\/v1|apis\/([^/]+)\/v1)\/(?:namespaces\/[^/]+\/)?([a-z]+)(\/[^/]+)?$/.exec(
        path,
      );
      if (!match) continue; // discovery, which every authenticated user may read
      const [, group = "", resource, item] = match;
      const verbs = { GET: [item ? "get" : "list"], PATCH: ["patch", "create"], DELETE: ["delete"] }[
        method
      ] ?? [method];
      for (const verb of verbs) used.add(`${group}/${resource}/${verb}`);
    }
    return used;
  } finally {
    await provisioner.stop();
    await fake.stop();
  }
}

describe("deploy/ manifests", () => {
  it("are valid Kubernetes objects", () => {
    expect(deployment.map((doc) => doc.kind)).toEqual([
      "Namespace",
      "ServiceAccount",
      "ClusterRole",
      "ClusterRoleBinding",
      "Deployment",
      "Service",
    ]);
    for (const doc of [...deployment, ...policy]) expect(() => validateAgainstSchema(doc)).not.toThrow();
  });

  it("grant exactly what the provisioner's jobs use, plus bind on ClusterRole admin", async () => {
    const granted = new Set(
      clusterRole.rules
        .filter((rule) => !rule.resourceNames)
        .flatMap((rule) =>
          rule.apiGroups.flatMap((group) =>
            rule.resources.flatMap((resource) => rule.verbs.map((verb) => `${group}/${resource}/${verb}`)),
          ),
        ),
    );
    expect([...granted].sort()).toEqual([...(await permissionsUsed())].sort());
    expect(clusterRole.rules).toContainEqual({
      apiGroups: ["rbac.authorization.k8s.io"],
      resources: ["clusterroles"],
      verbs: ["bind"],
      resourceNames: ["admin"],
    });
  });

  it("run the container as the image's non-root user with a read-only root", () => {
    const pod = (
      deployment.find((doc) => doc.kind === "Deployment") as unknown as {
        spec: { template: { spec: PodSpec } };
      }
    ).spec.template.spec;
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
    expect(pod.containers[0]?.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
    });
  });

  it("run a single provisioner replica, since the job-token replay cache is per process", () => {
    const provisioner = deployment.find(
      (doc) => doc.kind === "Deployment" && doc.metadata.name === "tenantry-provisioner",
    ) as unknown as { spec: { replicas: number } };
    expect(provisioner.spec.replicas).toBe(1);
  });

  it("scope the admission policy to the same resources the role grants", () => {
    const vap = policy[0] as FakeObject & { spec: { matchConstraints: { resourceRules: Rule[] } } };
    const scoped = vap.spec.matchConstraints.resourceRules.flatMap((rule) => rule.resources).sort();
    const namespacedOrNamespace = FAKE_RESOURCES.map((r) => r.plural).sort();
    expect(scoped).toEqual(namespacedOrNamespace);
  });
});
