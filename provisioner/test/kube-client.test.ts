import { KubeConfig } from "@kubernetes/client-node";
import { namespaceQuotas, PLAN_QUOTAS } from "@tenantry/contract";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  createKubeClient,
  FIELD_MANAGER,
  type KubeClient,
  KubernetesError,
  KubernetesTimeoutError,
  withDeadline,
} from "../src/kube";
import { renderTenant } from "../src/manifests";
import { type FakeKubeApi, startFakeKubeApi } from "./support/fake-kube-api";

let fake: FakeKubeApi;
let kube: KubeClient;

beforeAll(async () => {
  fake = await startFakeKubeApi();
  const kc = new KubeConfig();
  kc.loadFromClusterAndUser({ name: "fake", server: fake.url, skipTLSVerify: true }, { name: "test" });
  kube = createKubeClient(kc);
});
afterAll(() => fake.stop());
afterEach(() => fake.clearFaults());

const objects = renderTenant(
  {
    id: "0b1d2c3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e",
    slug: "wire",
    plan: "pro",
    quotas: namespaceQuotas(PLAN_QUOTAS.pro),
  },
  { suspended: false },
);
const rendered = (kind: string) => {
  const found = objects.find((obj) => obj.kind === kind);
  if (!found) throw new Error(`no ${kind} rendered`);
  return found;
};

describe("createKubeClient", () => {
  it("sends every rendered object byte-for-byte as a forced server-side apply", async () => {
    fake.requests.length = 0;
    for (const obj of objects) await kube.apply(obj);
    const patches = fake.requests.filter((r) => r.method === "PATCH");
    expect(patches.map((r) => r.body)).toEqual(objects);
    for (const patch of patches) {
      expect(patch.contentType).toBe("application/apply-patch+yaml");
      expect(patch.query).toEqual({ fieldManager: FIELD_MANAGER, force: "true" });
    }
  });

  // client-node's model serialiser drops `from` and `default` from plain objects; an
  // ingress rule without `from` admits every namespace, so this must never regress.
  it("keeps NetworkPolicy ingress[].from and LimitRange default on the wire", async () => {
    const received = (kind: string) =>
      fake.requests.findLast((r) => r.method === "PATCH" && (r.body as { kind?: string }).kind === kind);
    expect(received("NetworkPolicy")?.body).toMatchObject({
      spec: { ingress: [{ from: [{ podSelector: {} }] }] },
    });
    expect(received("LimitRange")?.body).toMatchObject({
      spec: { limits: [{ default: { cpu: "500m", memory: "512Mi" } }] },
    });
    expect(
      fake.get("networking.k8s.io/v1", "NetworkPolicy", "tenant-isolation", "tenant-wire")?.spec,
    ).toEqual(rendered("NetworkPolicy").spec);
  });

  it("reads a live object and reports absent ones as undefined", async () => {
    const ns = await kube.read({ apiVersion: "v1", kind: "Namespace", name: "tenant-wire" });
    expect(ns?.labels["tenant-slug"]).toBe("wire");
    expect(ns?.terminating).toBe(false);
    expect(await kube.read({ apiVersion: "v1", kind: "Namespace", name: "tenant-nobody" })).toBeUndefined();
  });

  it("lists by label selector even though list items carry no kind", async () => {
    const found = await kube.list("v1", "ServiceAccount", "tenant-wire", "managed-by=tenantry");
    expect(found.map((obj) => obj.name)).toEqual(["tenant-admin"]);
    expect(await kube.list("v1", "ServiceAccount", "tenant-wire", "managed-by=someone-else")).toEqual([]);
  });

  it("deletes, and reports a second delete as already gone", async () => {
    const ref = { apiVersion: "v1", kind: "ServiceAccount", name: "tenant-admin", namespace: "tenant-wire" };
    expect(await kube.remove(ref)).toBe(true);
    expect(await kube.remove(ref)).toBe(false);
  });

  it("turns a Kubernetes Status into a KubernetesError with code, reason and message", async () => {
    fake.inject({ match: (method) => method === "PATCH", status: 422 });
    const error = await kube.apply(rendered("ResourceQuota")).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(KubernetesError);
    expect(error).toMatchObject({ status: 422, reason: "Invalid" });
    expect((error as Error).message).toContain(
      "apply ResourceQuota tenant-wire/tenant-quota: 422 Invalid: injected fault",
    );
  });

  it("aborts requests that outlive the deadline", async () => {
    fake.inject({ match: (method) => method === "GET", hang: true });
    const error = await withDeadline(200, () =>
      kube.read({ apiVersion: "v1", kind: "Namespace", name: "tenant-wire" }),
    ).catch((err: unknown) => err);
    // The hang never ends by itself: only the deadline can have produced this error.
    expect(error).toBeInstanceOf(KubernetesTimeoutError);
  });

  it("reports readiness from the API server's /readyz", async () => {
    expect(await kube.ready(1_000)).toBe(true);
    fake.inject({ match: (_method, path) => path === "/readyz", status: 500 });
    expect(await kube.ready(1_000)).toBe(false);
  });
});
