import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type RunningProvisioner, startProvisioner } from "../src/server";
import { type FakeKubeApi, startFakeKubeApi } from "./support/fake-kube-api";
import { jobRequest, newTenant, postJob, startProvisionerOnFake, TEST_SECRET } from "./support/jobs-fixture";

const TIMEOUT_MS = 400;
let fake: FakeKubeApi;
let provisioner: RunningProvisioner;
let stop: () => Promise<void>;

beforeAll(async () => {
  ({ fake, provisioner, stop } = await startProvisionerOnFake(TIMEOUT_MS));
});
afterAll(() => stop());
afterEach(() => fake.clearFaults());

const onQuotaApply = (method: string, path: string) =>
  method === "PATCH" && path.endsWith("/resourcequotas/tenant-quota");

describe("Kubernetes failures", () => {
  for (const [status, reason] of [
    [409, "Conflict"],
    [422, "Invalid"],
    [500, "InternalError"],
  ] as const) {
    it(`turns a ${status} from the API server into 502 with the reason in detail`, async () => {
      fake.inject({
        match: onQuotaApply,
        status,
        body: {
          kind: "Status",
          apiVersion: "v1",
          status: "Failure",
          code: status,
          reason,
          message: `quota says ${reason}`,
        },
      });
      const res = await postJob(provisioner.url, jobRequest("provision", newTenant()));
      expect(res.status).toBe(502);
      expect(res.contentType).toBe("application/problem+json");
      expect(res.body).toMatchObject({
        type: "https://tenantry.dev/problems/kubernetes_error",
        status: 502,
        code: "kubernetes_error",
      });
      expect(res.body.detail).toMatch(
        new RegExp(
          `^apply ResourceQuota tenant-[a-z0-9-]+/tenant-quota: ${status} ${reason}: quota says ${reason}$`,
        ),
      );
    });
  }

  it("answers 504 within the timeout when the API server hangs", async () => {
    fake.inject({ match: onQuotaApply, hang: true });
    const started = Date.now();
    const res = await postJob(provisioner.url, jobRequest("provision", newTenant()));
    const elapsed = Date.now() - started;
    expect(res.status).toBe(504);
    expect(res.body).toMatchObject({ code: "kubernetes_timeout", status: 504 });
    expect(String(res.body.detail)).toContain(`within ${TIMEOUT_MS} ms`);
    expect(elapsed).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
    expect(elapsed).toBeLessThan(TIMEOUT_MS + 1_500);
  });

  it("succeeds on redelivery once the fault is gone", async () => {
    const tenant = newTenant();
    fake.inject({ match: onQuotaApply, status: 500, times: 1 });
    expect((await postJob(provisioner.url, jobRequest("provision", tenant))).status).toBe(502);
    const retry = await postJob(provisioner.url, jobRequest("provision", tenant, 2));
    expect(retry.status).toBe(200);
    expect(retry.body.status).toBe("succeeded");
  });

  it("answers 502 when the API server cannot be reached", async () => {
    const gone = await startFakeKubeApi();
    await gone.stop();
    const orphan = await startProvisioner({ port: 0, secret: TEST_SECRET, server: gone.url, log: () => {} });
    try {
      const res = await postJob(orphan.url, jobRequest("provision", newTenant()));
      expect(res.status).toBe(502);
      expect(res.body.code).toBe("kubernetes_error");
      expect(String(res.body.detail)).toContain("ECONNREFUSED");
    } finally {
      await orphan.stop();
    }
  });
});
