import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderTenant, SUSPENDED_ANNOTATION } from "../src/manifests";
import { type RunningProvisioner, startProvisioner } from "../src/server";
import { type FakeKubeApi, type FakeObject, startFakeKubeApi } from "./support/fake-kube-api";
import { jobRequest, newTenant, postJob, TEST_SECRET, type TestTenant } from "./support/jobs-fixture";

let fake: FakeKubeApi;
let provisioner: RunningProvisioner;

beforeAll(async () => {
  fake = await startFakeKubeApi();
  provisioner = await startProvisioner({ port: 0, secret: TEST_SECRET, server: fake.url, log: () => {} });
});
afterAll(async () => {
  await provisioner.stop();
  await fake.stop();
});

const run = (kind: Parameters<typeof jobRequest>[0], tenant: TestTenant) =>
  postJob(provisioner.url, jobRequest(kind, tenant));
const inNamespace = (tenant: TestTenant) =>
  [...fake.objects.values()].filter(
    (obj) =>
      obj.metadata.namespace === `tenant-${tenant.slug}` || obj.metadata.name === `tenant-${tenant.slug}`,
  );
const quotaOf = (tenant: TestTenant) => {
  const quota = fake.get("v1", "ResourceQuota", "tenant-quota", `tenant-${tenant.slug}`);
  if (!quota) throw new Error(`no quota stored for ${tenant.slug}`);
  return (quota.spec as { hard: Record<string, string> }).hard;
};
const namespaceOf = (tenant: TestTenant) => fake.get("v1", "Namespace", `tenant-${tenant.slug}`);
const patchesFor = (tenant: TestTenant) =>
  fake.requests.filter((r) => r.method === "PATCH" && r.path.includes(`/namespaces/tenant-${tenant.slug}`));

describe("provision", () => {
  it("applies exactly the rendered objects with forced server-side apply", async () => {
    const tenant = newTenant("pro");
    const res = await run("provision", tenant);
    const ns = `tenant-${tenant.slug}`;

    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: "succeeded", namespace: ns, pruned: [] });
    expect(res.body.applied).toEqual([
      { apiVersion: "v1", kind: "Namespace", name: ns },
      { apiVersion: "v1", kind: "ResourceQuota", name: "tenant-quota", namespace: ns },
      { apiVersion: "v1", kind: "LimitRange", name: "tenant-defaults", namespace: ns },
      { apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", name: "tenant-isolation", namespace: ns },
      { apiVersion: "v1", kind: "ServiceAccount", name: "tenant-admin", namespace: ns },
      {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "RoleBinding",
        name: "tenant-admins",
        namespace: ns,
      },
    ]);

    const patches = patchesFor(tenant);
    expect(patches.map((r) => r.body)).toEqual(renderTenant(tenant, { suspended: false }));
    for (const patch of patches) {
      expect(patch.contentType).toBe("application/apply-patch+yaml");
      expect(patch.query).toEqual({ fieldManager: "tenantry-provisioner", force: "true" });
    }
    expect(inNamespace(tenant)).toHaveLength(6);
    expect(namespaceOf(tenant)?.metadata.labels).toMatchObject({
      "tenant-id": tenant.id,
      "tenant-slug": tenant.slug,
      "managed-by": "tenantry",
      "pod-security.kubernetes.io/enforce": "restricted",
    });
  });

  it("is idempotent: a redelivered job changes nothing and duplicates nothing", async () => {
    const tenant = newTenant("basic");
    const first = await run("provision", tenant);
    const before = inNamespace(tenant).map((obj) => structuredClone(obj));
    const again = await run("provision", tenant);

    expect(again.status).toBe(200);
    expect(again.body.applied).toEqual(first.body.applied);
    const after = inNamespace(tenant);
    expect(after).toHaveLength(6);
    expect(after).toEqual(before);
  });

  it("prunes owned objects no longer rendered and leaves everything else alone", async () => {
    const tenant = newTenant("free");
    await run("provision", tenant);
    const ns = `tenant-${tenant.slug}`;
    const policy = (name: string, labels: Record<string, string>): FakeObject => ({
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: { name, namespace: ns, labels },
      spec: { podSelector: {}, policyTypes: ["Ingress"] },
    });
    fake.seed(
      policy("legacy-allow-web", { "managed-by": "tenantry", "tenant-id": tenant.id }),
      "tenantry-provisioner",
    );
    fake.seed(policy("team-custom", { team: "web" }));
    fake.seed(policy("other-owner", { "managed-by": "tenantry", "tenant-id": newTenant().id }));

    const res = await run("update_quota", tenant);

    expect(res.body.pruned).toEqual([
      { apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", name: "legacy-allow-web", namespace: ns },
    ]);
    expect(fake.get("networking.k8s.io/v1", "NetworkPolicy", "legacy-allow-web", ns)).toBeUndefined();
    expect(fake.get("networking.k8s.io/v1", "NetworkPolicy", "team-custom", ns)).toBeDefined();
    expect(fake.get("networking.k8s.io/v1", "NetworkPolicy", "other-owner", ns)).toBeDefined();
    expect(fake.get("networking.k8s.io/v1", "NetworkPolicy", "tenant-isolation", ns)).toBeDefined();
  });

  it("refuses to provision or delete a namespace that belongs to someone else", async () => {
    const tenant = newTenant();
    fake.seed({
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: `tenant-${tenant.slug}`, labels: { team: "x" } },
    });
    const res = await run("provision", tenant);
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ code: "conflict", status: 409 });
    expect(String(res.body.detail)).toContain("refusing");
    expect(patchesFor(tenant)).toHaveLength(0);
    expect((await run("deprovision", tenant)).status).toBe(409);
    expect(namespaceOf(tenant)?.metadata.deletionTimestamp).toBeUndefined();
  });
});

describe("suspend, resume and update_quota", () => {
  it("suspend caps pods at zero and records the suspension on the namespace", async () => {
    const tenant = newTenant("pro");
    await run("provision", tenant);
    const res = await run("suspend", tenant);
    expect(res.body.status).toBe("succeeded");
    expect(quotaOf(tenant).pods).toBe("0");
    expect(quotaOf(tenant)["requests.cpu"]).toBe("64");
    expect(namespaceOf(tenant)?.metadata.annotations).toEqual({ [SUSPENDED_ANNOTATION]: "true" });
  });

  it("resume restores the plan quota and drops the annotation", async () => {
    const tenant = newTenant("pro");
    await run("provision", tenant);
    await run("suspend", tenant);
    const res = await run("resume", tenant);
    expect(res.body.status).toBe("succeeded");
    expect(quotaOf(tenant)).not.toHaveProperty("pods");
    expect(quotaOf(tenant)["limits.memory"]).toBe("256Gi");
    expect(namespaceOf(tenant)?.metadata.annotations).toBeUndefined();
  });

  it("update_quota applies the new numbers", async () => {
    const tenant = newTenant("basic");
    await run("provision", tenant);
    const res = await run("update_quota", {
      ...tenant,
      quotas: { cpu_cores: 24, memory_gb: 96, storage_gb: 500, gpus: 2 },
    });
    expect(res.body.status).toBe("succeeded");
    expect(quotaOf(tenant)).toMatchObject({
      "requests.cpu": "24",
      "limits.cpu": "24",
      "requests.memory": "96Gi",
      "requests.storage": "500Gi",
      "requests.nvidia.com/gpu": "2",
      "services.nodeports": "0",
    });
  });

  it("update_quota on a suspended tenant keeps it suspended", async () => {
    const tenant = newTenant("basic");
    await run("provision", tenant);
    await run("suspend", tenant);
    await run("update_quota", { ...tenant, quotas: { ...tenant.quotas, cpu_cores: 20 } });
    expect(quotaOf(tenant)).toMatchObject({ pods: "0", "requests.cpu": "20" });
    expect(namespaceOf(tenant)?.metadata.annotations).toEqual({ [SUSPENDED_ANNOTATION]: "true" });
  });
});

describe("deprovision", () => {
  it("reports terminating until the namespace is gone, deleting it once", async () => {
    const tenant = newTenant();
    await run("provision", tenant);
    const ns = `tenant-${tenant.slug}`;

    const first = await run("deprovision", tenant);
    expect(first.body).toEqual({
      job_id: expect.any(String),
      status: "terminating",
      namespace: ns,
      applied: [],
      pruned: [],
    });
    expect(namespaceOf(tenant)?.status).toEqual({ phase: "Terminating" });
    expect((await run("deprovision", tenant)).body.status).toBe("terminating");
    expect(
      fake.requests.filter((r) => r.method === "DELETE" && r.path === `/api/v1/namespaces/${ns}`),
    ).toHaveLength(1);

    fake.finishTermination(ns);
    expect((await run("deprovision", tenant)).body.status).toBe("gone");
    expect(inNamespace(tenant)).toHaveLength(0);
  });

  it("answers gone for a namespace that never existed", async () => {
    const res = await run("deprovision", newTenant());
    expect(res.status).toBe(200);
    expect(res.body.status).toBe("gone");
  });

  it("fails a provision into a terminating namespace with Kubernetes' reason", async () => {
    const tenant = newTenant();
    await run("provision", tenant);
    await run("deprovision", tenant);
    // A new object kind would be created, which a terminating namespace refuses.
    fake.objects.delete(`v1/ServiceAccount/tenant-${tenant.slug}/tenant-admin`);
    const res = await run("provision", tenant);
    expect(res.status).toBe(502);
    expect(res.body).toMatchObject({ code: "kubernetes_error" });
    expect(String(res.body.detail)).toContain("403 Forbidden");
    expect(String(res.body.detail)).toContain("because it is being terminated");
  });
});
