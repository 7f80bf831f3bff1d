import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { type RunningProvisioner, startProvisioner } from "../src/server";
import { type FakeKubeApi, startFakeKubeApi } from "./support/fake-kube-api";
import {
  jobRequest,
  newTenant,
  PACKAGE_VERSION,
  postJob,
  sha256Hex,
  signJobToken,
  signPingToken,
  startProvisionerOnFake,
  TEST_SECRET,
} from "./support/jobs-fixture";

let fake: FakeKubeApi;
let provisioner: RunningProvisioner;
let stop: () => Promise<void>;

beforeAll(async () => {
  ({ fake, provisioner, stop } = await startProvisionerOnFake(500));
});
afterAll(() => stop());

/** Prometheus text → `name{labels}` → value. */
async function scrape(url: string): Promise<Map<string, number>> {
  const res = await fetch(`${url}/metrics`);
  expect(res.headers.get("content-type")).toContain("text/plain");
  const samples = new Map<string, number>();
  for (const line of (await res.text()).split("\n")) {
    const match = /^([a-z_]+(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (match?.[1] && match[2]) samples.set(match[1], Number(match[2]));
  }
  return samples;
}

describe("probes", () => {
  it("/healthz answers 200", async () => {
    const res = await fetch(`${provisioner.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok" });
  });

  it("/readyz answers 200 while the Kubernetes API answers and 503 once it is gone", async () => {
    const api = await startFakeKubeApi();
    const probe = await startProvisioner({ port: 0, secret: TEST_SECRET, server: api.url, log: () => {} });
    try {
      const up = await fetch(`${probe.url}/readyz`);
      expect(up.status).toBe(200);
      expect(await up.json()).toEqual({ status: "ready", mode: "live" });
      await api.stop();
      const down = await fetch(`${probe.url}/readyz`);
      expect(down.status).toBe(503);
      expect(await down.json()).toEqual({ status: "unavailable", mode: "live" });
    } finally {
      await probe.stop();
    }
  });

  it("unknown routes answer 404 problem+json", async () => {
    const res = await fetch(`${provisioner.url}/v2/jobs`);
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    expect(await res.json()).toMatchObject({ code: "not_found" });
  });
});

describe("/metrics", () => {
  it("counts jobs by kind and outcome, rejected requests and apply latency", async () => {
    const tenant = newTenant();
    await postJob(provisioner.url, jobRequest("provision", tenant));
    await postJob(provisioner.url, jobRequest("provision", tenant));
    await postJob(provisioner.url, jobRequest("suspend", tenant));
    fake.inject({ match: (method) => method === "PATCH", status: 500, times: 1 });
    await postJob(provisioner.url, jobRequest("update_quota", tenant));
    await postJob(provisioner.url, jobRequest("deprovision", tenant));
    await postJob(provisioner.url, jobRequest("provision", tenant), null);

    const samples = await scrape(provisioner.url);
    expect(samples.get('tenantry_provisioner_jobs_total{kind="provision",outcome="succeeded"}')).toBe(2);
    expect(samples.get('tenantry_provisioner_jobs_total{kind="suspend",outcome="succeeded"}')).toBe(1);
    expect(
      samples.get('tenantry_provisioner_jobs_total{kind="update_quota",outcome="kubernetes_error"}'),
    ).toBe(1);
    expect(samples.get('tenantry_provisioner_jobs_total{kind="deprovision",outcome="terminating"}')).toBe(1);
    expect(samples.get('tenantry_provisioner_rejected_requests_total{code="unauthenticated"}')).toBe(1);
    // Three successful jobs applied one Namespace each; the failed one stopped at its first apply.
    expect(samples.get('tenantry_provisioner_apply_duration_seconds_count{resource="Namespace"}')).toBe(4);
    expect(samples.get('tenantry_provisioner_apply_duration_seconds_count{resource="RoleBinding"}')).toBe(3);
  });
});

describe("dry-run mode", () => {
  it("makes no Kubernetes calls, answers dry_run and logs the YAML it would apply", async () => {
    const lines: Record<string, unknown>[] = [];
    const api = await startFakeKubeApi();
    const dry = await startProvisioner({
      port: 0,
      secret: TEST_SECRET,
      server: api.url,
      dryRun: true,
      log: (l) => lines.push(l),
    });
    try {
      const tenant = newTenant("enterprise");
      const res = await postJob(dry.url, jobRequest("suspend", tenant));
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ status: "dry_run", namespace: `tenant-${tenant.slug}`, pruned: [] });
      expect(res.body.applied).toHaveLength(6);
      expect(api.requests).toEqual([]);

      const logged = lines.find((line) => line.msg === "dry_run");
      const docs = parseAllDocuments(String(logged?.yaml)).map((doc) => doc.toJS());
      expect(docs.map((doc) => doc.kind)).toEqual([
        "Namespace",
        "ResourceQuota",
        "LimitRange",
        "NetworkPolicy",
        "ServiceAccount",
        "RoleBinding",
      ]);
      expect(docs[1].spec.hard.pods).toBe("0");
      expect((await fetch(`${dry.url}/readyz`)).status).toBe(200);
    } finally {
      await dry.stop();
      await api.stop();
    }
  });

  it("answers a dry-run deprovision with dry_run, deleting nothing", async () => {
    const lines: Record<string, unknown>[] = [];
    const dry = await startProvisioner({
      port: 0,
      secret: TEST_SECRET,
      dryRun: true,
      log: (l) => lines.push(l),
    });
    try {
      expect(dry.mode).toBe("dry_run");
      const tenant = newTenant();
      const res = await postJob(dry.url, jobRequest("deprovision", tenant));
      expect(res.body).toMatchObject({ status: "dry_run", applied: [] });
      expect(lines).toContainEqual(
        expect.objectContaining({ msg: "dry_run", would_delete: `tenant-${tenant.slug}` }),
      );
    } finally {
      await dry.stop();
    }
  });
});

describe("/metrics with METRICS_TOKEN", () => {
  const METRICS_TOKEN = "metrics-token-0123456789";
  let guarded: RunningProvisioner;

  beforeAll(async () => {
    guarded = await startProvisioner({
      port: 0,
      secret: TEST_SECRET,
      dryRun: true,
      metricsToken: METRICS_TOKEN,
      log: () => {},
    });
  });
  afterAll(() => guarded.stop());

  it("requires the token as a Bearer token", async () => {
    for (const authorization of [undefined, "Bearer wrong-token-0123456789", `Basic ${METRICS_TOKEN}`]) {
      const res = await fetch(`${guarded.url}/metrics`, {
        headers: authorization ? { authorization } : {},
      });
      expect(res.status).toBe(401);
      expect(res.headers.get("content-type")).toBe("application/problem+json");
      expect(await res.json()).toMatchObject({ code: "unauthenticated" });
    }
    const res = await fetch(`${guarded.url}/metrics`, {
      headers: { authorization: `Bearer ${METRICS_TOKEN}` },
    });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("tenantry_provisioner_jobs_total");
  });

  it("stays open without one (a scraper inside the cluster network)", async () => {
    expect((await fetch(`${provisioner.url}/metrics`)).status).toBe(200);
  });
});

describe("GET /v1/status (signed ping)", () => {
  const ping = (url: string, token: string | null) =>
    fetch(`${url}/v1/status`, { headers: token ? { authorization: `Bearer ${token}` } : {} });

  it("answers the mode and version to a ping token", async () => {
    const res = await ping(provisioner.url, await signPingToken());
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ mode: "live", version: PACKAGE_VERSION });

    const dry = await startProvisioner({ port: 0, secret: TEST_SECRET, dryRun: true, log: () => {} });
    try {
      expect(await (await ping(dry.url, await signPingToken())).json()).toEqual({
        mode: "dry_run",
        version: PACKAGE_VERSION,
      });
    } finally {
      await dry.stop();
    }
  });

  it("refuses no token, a job token, another body hash, another secret and a replay", async () => {
    const job = jobRequest("provision", newTenant());
    const refused = [
      null,
      await signJobToken(job, ""),
      await signPingToken({ bodySha256: sha256Hex("{}") }),
      await signPingToken({ secret: "not-the-provisioner-secret-0123456789" }),
    ];
    for (const token of refused) {
      const res = await ping(provisioner.url, token);
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({ code: token ? "invalid_token" : "unauthenticated" });
    }
    const token = await signPingToken();
    expect((await ping(provisioner.url, token)).status).toBe(200);
    const replay = await ping(provisioner.url, token);
    expect(replay.status).toBe(401);
    expect(await replay.json()).toMatchObject({ detail: "the job token was already used" });
  });
});

describe("startProvisioner", () => {
  it("refuses to start without a secret, or with one shorter than 32 bytes", async () => {
    await expect(startProvisioner({ port: 0, secret: "", dryRun: true })).rejects.toThrow(
      /PROVISIONER_SECRET/,
    );
    await expect(startProvisioner({ port: 0, secret: "s".repeat(31), dryRun: true })).rejects.toThrow(
      "PROVISIONER_SECRET) must be at least 32 bytes",
    );
  });

  it("refuses to start without a cluster unless dryRun is asked for", async () => {
    await expect(startProvisioner({ port: 0, secret: TEST_SECRET, log: () => {} })).rejects.toThrow(
      /no cluster .* pass dryRun: true/,
    );
  });

  it("refuses an https server URL, which needs a kubeconfig with its CA", async () => {
    await expect(
      startProvisioner({ port: 0, secret: TEST_SECRET, server: "https://10.0.0.1:6443" }),
    ).rejects.toThrow(/plain http/);
  });
});
