import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type FakeKubeApi, startFakeKubeApi } from "./support/fake-kube-api";

// The fake stands in for kube-apiserver in this suite and in the Worker's end-to-end
// tests; these pin down that it refuses what a real server refuses.
let fake: FakeKubeApi;

beforeAll(async () => {
  fake = await startFakeKubeApi();
});
afterAll(() => fake.stop());
afterEach(() => fake.clearFaults());

const APPLY = "application/apply-patch+yaml";

async function call(method: string, path: string, body?: object, contentType = APPLY) {
  const res = await fetch(`${fake.url}${path}`, {
    method,
    ...(body ? { body: JSON.stringify(body), headers: { "content-type": contentType } } : {}),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const namespace = (name: string, labels: Record<string, string> = {}) => ({
  apiVersion: "v1",
  kind: "Namespace",
  metadata: { name, labels },
});
const serviceAccount = (name: string, ns: string, labels: Record<string, string> = {}) => ({
  apiVersion: "v1",
  kind: "ServiceAccount",
  metadata: { name, namespace: ns, labels },
});
const applyPath = (path: string, manager = "test") => `${path}?fieldManager=${manager}&force=true`;

describe("fake Kubernetes API server", () => {
  it("serves discovery for the core and named groups", async () => {
    const core = await call("GET", "/api/v1");
    expect(core.body).toMatchObject({ kind: "APIResourceList", groupVersion: "v1" });
    expect(core.body.resources).toContainEqual(
      expect.objectContaining({ name: "namespaces", kind: "Namespace", namespaced: false }),
    );
    const groups = await call("GET", "/apis");
    expect((groups.body.groups as { name: string }[]).map((g) => g.name)).toEqual([
      "networking.k8s.io",
      "rbac.authorization.k8s.io",
    ]);
    expect((await call("GET", "/apis/apps/v1")).status).toBe(404);
  });

  it("creates on first apply (201), keeps the resourceVersion on an identical re-apply", async () => {
    const first = await call("PATCH", applyPath("/api/v1/namespaces/fk-one"), namespace("fk-one"));
    expect(first.status).toBe(201);
    const again = await call("PATCH", applyPath("/api/v1/namespaces/fk-one"), namespace("fk-one"));
    expect(again.status).toBe(200);
    const meta = (r: typeof first) => r.body.metadata as Record<string, unknown>;
    expect(meta(again).resourceVersion).toBe(meta(first).resourceVersion);
    expect(meta(again).uid).toBe(meta(first).uid);
    const changed = await call(
      "PATCH",
      applyPath("/api/v1/namespaces/fk-one"),
      namespace("fk-one", { a: "b" }),
    );
    expect(Number(meta(changed).resourceVersion)).toBeGreaterThan(Number(meta(first).resourceVersion));
    expect(first.body.status).toEqual({ phase: "Active" });
  });

  it("requires the apply content type and a fieldManager", async () => {
    const merge = await call(
      "PATCH",
      applyPath("/api/v1/namespaces/fk-ct"),
      namespace("fk-ct"),
      "application/merge-patch+json",
    );
    expect(merge.status).toBe(415);
    const noManager = await call("PATCH", "/api/v1/namespaces/fk-ct", namespace("fk-ct"));
    expect(noManager.status).toBe(422);
    expect(noManager.body).toMatchObject({ kind: "Status", reason: "Invalid" });
    expect(String(noManager.body.message)).toContain("fieldManager: Required value");
  });

  it("answers a conflict when another manager owns the object and force is not set", async () => {
    fake.seed(namespace("fk-owned"), "kubectl");
    const res = await call("PATCH", "/api/v1/namespaces/fk-owned?fieldManager=test", namespace("fk-owned"));
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ reason: "Conflict", code: 409 });
    expect(
      (await call("PATCH", applyPath("/api/v1/namespaces/fk-owned"), namespace("fk-owned"))).status,
    ).toBe(200);
  });

  it("rejects objects that fail the schema, bad names and a body that does not match the URL", async () => {
    const badQuota = {
      apiVersion: "v1",
      kind: "ResourceQuota",
      metadata: { name: "q", namespace: "fk-one" },
      spec: { hard: { "requests.cpu": "four" } },
    };
    const invalid = await call("PATCH", applyPath("/api/v1/namespaces/fk-one/resourcequotas/q"), badQuota);
    expect(invalid.status).toBe(422);
    expect(String(invalid.body.message)).toContain("requests.cpu");
    expect(
      (await call("PATCH", applyPath("/api/v1/namespaces/Bad_Name"), namespace("Bad_Name"))).status,
    ).toBe(422);
    expect((await call("PATCH", applyPath("/api/v1/namespaces/fk-x"), namespace("fk-y"))).status).toBe(400);
  });

  it("refuses content in a missing namespace (404) and new content in a terminating one (403)", async () => {
    const missing = await call(
      "PATCH",
      applyPath("/api/v1/namespaces/fk-none/serviceaccounts/sa"),
      serviceAccount("sa", "fk-none"),
    );
    expect(missing.status).toBe(404);
    await call("PATCH", applyPath("/api/v1/namespaces/fk-term"), namespace("fk-term"));
    await call(
      "PATCH",
      applyPath("/api/v1/namespaces/fk-term/serviceaccounts/old"),
      serviceAccount("old", "fk-term"),
    );
    const deleted = await call("DELETE", "/api/v1/namespaces/fk-term");
    expect(deleted.body).toMatchObject({ status: { phase: "Terminating" } });
    const created = await call(
      "PATCH",
      applyPath("/api/v1/namespaces/fk-term/serviceaccounts/new"),
      serviceAccount("new", "fk-term"),
    );
    expect(created.status).toBe(403);
    expect(String(created.body.message)).toContain("because it is being terminated");
    expect((await call("DELETE", "/api/v1/namespaces/fk-term")).status).toBe(409);
    fake.finishTermination("fk-term");
    expect((await call("GET", "/api/v1/namespaces/fk-term")).status).toBe(404);
    expect(fake.get("v1", "ServiceAccount", "old", "fk-term")).toBeUndefined();
  });

  it("lists by label selector, without kind on the items", async () => {
    await call("PATCH", applyPath("/api/v1/namespaces/fk-list"), namespace("fk-list"));
    for (const [name, team] of [
      ["a", "red"],
      ["b", "blue"],
      ["c", "red"],
    ] as const) {
      await call(
        "PATCH",
        applyPath(`/api/v1/namespaces/fk-list/serviceaccounts/${name}`),
        serviceAccount(name, "fk-list", { team }),
      );
    }
    const red = await call("GET", "/api/v1/namespaces/fk-list/serviceaccounts?labelSelector=team%3Dred");
    const items = red.body.items as Record<string, unknown>[];
    expect(red.body.kind).toBe("ServiceAccountList");
    expect(items.map((i) => (i.metadata as { name: string }).name)).toEqual(["a", "c"]);
    expect(items[0]).not.toHaveProperty("kind");
    const notRed = await call("GET", "/api/v1/namespaces/fk-list/serviceaccounts?labelSelector=team!%3Dred");
    expect((notRed.body.items as unknown[]).length).toBe(1);
  });

  it("answers unknown paths and kinds with a 404 Status", async () => {
    for (const path of ["/nope", "/api/v1/widgets", "/api/v1/namespaces/fk-one/widgets/w"]) {
      const res = await call("GET", path);
      expect(res.status).toBe(404);
      expect(res.body).toMatchObject({ kind: "Status", status: "Failure", reason: "NotFound" });
    }
  });

  it("injects failures a limited number of times", async () => {
    fake.inject({
      match: (method, path) => method === "GET" && path === "/api/v1/namespaces/fk-one",
      status: 500,
      times: 1,
    });
    const failed = await call("GET", "/api/v1/namespaces/fk-one");
    expect(failed).toMatchObject({ status: 500, body: { reason: "InternalError" } });
    expect((await call("GET", "/api/v1/namespaces/fk-one")).status).toBe(200);
  });

  it("removes terminating namespaces by itself when given a delay", async () => {
    const quick = await startFakeKubeApi({ terminationDelayMs: 20 });
    try {
      quick.seed(namespace("fk-quick"));
      await fetch(`${quick.url}/api/v1/namespaces/fk-quick`, { method: "DELETE" });
      expect(quick.get("v1", "Namespace", "fk-quick")?.status).toEqual({ phase: "Terminating" });
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(quick.get("v1", "Namespace", "fk-quick")).toBeUndefined();
    } finally {
      await quick.stop();
    }
  });
});
