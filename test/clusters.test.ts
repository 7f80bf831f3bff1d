import { describe, expect, it } from "vitest";
import { expectProblem } from "./support/problems";
import { createOk, describeTenantResource, useMemberClient } from "./support/tenant-resource-suite";

const PATH = "/api/v1/clusters";
const cluster = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  api_server_url: "https://k8s.example.com:6443",
  region: "eu-west-1",
  ...extra,
});

describeTenantResource({
  path: PATH,
  type: "cluster",
  reader: "viewer",
  body: (name) => cluster(name, { labels: { env: "prod" } }),
  change: { region: "us-east-2", labels: { env: "staging", "example.com/team": "platform" } },
});

describe("cluster fields", () => {
  const f = useMemberClient(PATH);

  it("answers every field, with labels defaulting to an empty map", async () => {
    const item = await createOk(f.client, cluster("plain"));
    expect(Object.keys(item).sort()).toEqual(
      ["id", "name", "api_server_url", "region", "labels", "created_at", "updated_at"].sort(),
    );
    expect(item).toMatchObject({
      api_server_url: "https://k8s.example.com:6443",
      region: "eu-west-1",
      labels: {},
    });
  });

  it("accepts https API server URLs with a port, an IP address or a path prefix", async () => {
    for (const url of [
      "https://10.0.0.12:6443",
      "https://rancher.example.com/k8s/clusters/c-abc12",
      "https://k8s.local",
    ]) {
      expect((await createOk(f.client, cluster(f.next(), { api_server_url: url }))).api_server_url).toBe(url);
    }
  });

  it("400 for an API server URL that is not plain https", async () => {
    for (const url of [
      "http://k8s.example.com",
      "ftp://k8s.example.com",
      "k8s.example.com:6443",
      "https:/k8s.example.com",
      "https://admin:secret@k8s.example.com",
      "https://k8s.example.com/?token=abc",
      "https://k8s.example.com/#frag",
      "https://",
      "https://bad_host.example.com",
      `https://k8s.example.com/${"p".repeat(2048)}`,
      "",
      42,
    ]) {
      const body = await expectProblem(
        await f.client.create(cluster(f.next(), { api_server_url: url })),
        400,
        "validation_failed",
      );
      expect(body.errors?.[0]?.path, String(url)).toBe("api_server_url");
    }
  });

  it("region: 1–50 characters", async () => {
    await createOk(f.client, cluster(f.next(), { region: "r".repeat(50) }));
    for (const region of ["", "   ", "r".repeat(51), undefined]) {
      await expectProblem(await f.client.create(cluster(f.next(), { region })), 400, "validation_failed");
    }
  });

  it("labels: Kubernetes keys and values, at most 64", async () => {
    const labels = {
      env: "prod",
      "app.kubernetes.io/name": "api",
      "example.com/cost_center": "a-1.b_2",
      empty: "",
      [`k${"x".repeat(62)}`]: "v".repeat(63),
    };
    expect((await createOk(f.client, cluster(f.next(), { labels }))).labels).toEqual(labels);
    const many = Object.fromEntries(Array.from({ length: 64 }, (_, i) => [`l${i}`, "v"]));
    await createOk(f.client, cluster(f.next(), { labels: many }));
  });

  it("400 for labels that are not a bounded string map", async () => {
    for (const labels of [
      { "has space": "v" },
      { "-leading": "v" },
      { [`k${"x".repeat(63)}`]: "v" },
      { "Bad_Prefix.com/name": "v" },
      { env: "v".repeat(64) },
      { env: "with space" },
      { env: 1 },
      { env: { nested: "v" } },
      Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`l${i}`, "v"])),
      ["env"],
      "env=prod",
    ]) {
      await expectProblem(await f.client.create(cluster(f.next(), { labels })), 400, "validation_failed");
    }
  });

  it("drops a __proto__ label key instead of letting it reach a prototype", async () => {
    const item = await createOk(
      f.client,
      cluster(f.next(), { labels: JSON.parse('{"__proto__": "v", "a": "1"}') }),
    );
    expect(item.labels).toEqual({ a: "1" });
    const { rows } = await f.db.admin.query("select labels from clusters where id = $1", [item.id]);
    expect(rows[0]?.labels).toEqual({ a: "1" });
  });

  it("patch replaces the whole label map", async () => {
    const item = await createOk(f.client, cluster(f.next(), { labels: { a: "1", b: "2" } }));
    const res = await f.client.patch(item.id, { labels: { c: "3" } });
    expect(((await res.json()) as { labels: unknown }).labels).toEqual({ c: "3" });
    const cleared = await f.client.patch(item.id, { labels: {} });
    expect(((await cleared.json()) as { labels: unknown }).labels).toEqual({});
  });

  it("patch validates like create", async () => {
    const item = await createOk(f.client, cluster(f.next()));
    for (const change of [
      { api_server_url: "http://x.example.com" },
      { region: "" },
      { labels: { "a b": "c" } },
    ]) {
      await expectProblem(await f.client.patch(item.id, change), 400, "validation_failed");
    }
  });
});
