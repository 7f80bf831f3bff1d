import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningProvisioner, startProvisioner } from "../src/server";
import { jobRequest, newTenant, postJob, signJobToken, TEST_SECRET } from "./support/jobs-fixture";

// Dry-run mode: authentication is decided before any Kubernetes work.
let provisioner: RunningProvisioner;

beforeAll(async () => {
  provisioner = await startProvisioner({ port: 0, secret: TEST_SECRET, dryRun: true, log: () => {} });
});
afterAll(() => provisioner.stop());

const now = () => Math.floor(Date.now() / 1000);
const b64url = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");

async function expectRejected(
  token: string | null,
  code: string,
  body = jobRequest("provision", newTenant()),
) {
  const res = await postJob(provisioner.url, body, token);
  expect(res.status).toBe(401);
  expect(res.contentType).toBe("application/problem+json");
  expect(res.body).toMatchObject({ status: 401, code, type: `https://tenantry.dev/problems/${code}` });
  return res;
}

describe("job token", () => {
  it("accepts a token the Worker would sign", async () => {
    const res = await postJob(provisioner.url, jobRequest("provision", newTenant()));
    expect(res.status).toBe(200);
    expect(res.body.status).toBe("dry_run");
  });

  it("tolerates 5 s of clock skew on exp", async () => {
    const body = jobRequest("provision", newTenant());
    const token = await signJobToken(body.job, { iat: now() - 60, exp: now() - 3 });
    expect((await postJob(provisioner.url, body, token)).status).toBe(200);
  });

  it("rejects a missing token as unauthenticated", async () => {
    await expectRejected(null, "unauthenticated");
  });

  it("rejects a non-Bearer Authorization as unauthenticated", async () => {
    const body = jobRequest("provision", newTenant());
    const res = await fetch(`${provisioner.url}/v1/jobs`, {
      method: "POST",
      headers: { authorization: `Basic ${Buffer.from("worker:secret").toString("base64")}` },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ code: "unauthenticated" });
  });

  it("rejects a token signed with another secret", async () => {
    const body = jobRequest("provision", newTenant());
    await expectRejected(
      await signJobToken(body.job, { secret: "not-the-provisioner-secret" }),
      "invalid_token",
      body,
    );
  });

  it("rejects an expired token", async () => {
    const body = jobRequest("provision", newTenant());
    await expectRejected(
      await signJobToken(body.job, { iat: now() - 90, exp: now() - 30 }),
      "invalid_token",
      body,
    );
  });

  it("rejects a token for another audience or issuer", async () => {
    const body = jobRequest("provision", newTenant());
    await expectRejected(await signJobToken(body.job, { audience: "api" }), "invalid_token", body);
    await expectRejected(await signJobToken(body.job, { issuer: "someone-else" }), "invalid_token", body);
  });

  it("rejects a token that lives longer than 60 s", async () => {
    const body = jobRequest("provision", newTenant());
    const res = await expectRejected(
      await signJobToken(body.job, { exp: now() + 3600 }),
      "invalid_token",
      body,
    );
    expect(res.body.detail).toBe("job tokens may live at most 60 s");
  });

  it("rejects an unsigned (alg: none) token", async () => {
    const body = jobRequest("provision", newTenant());
    const claims = {
      iss: "tenantry",
      aud: "provisioner",
      sub: body.job.id,
      jti: `${body.job.id}:1`,
      iat: now(),
      exp: now() + 60,
    };
    await expectRejected(`${b64url({ alg: "none", typ: "JWT" })}.${b64url(claims)}.`, "invalid_token", body);
  });

  it("rejects another HMAC algorithm even with the right secret", async () => {
    const body = jobRequest("provision", newTenant());
    const token = await new SignJWT({ jti: `${body.job.id}:1` })
      .setProtectedHeader({ alg: "HS512" })
      .setIssuer("tenantry")
      .setAudience("provisioner")
      .setSubject(body.job.id)
      .setIssuedAt()
      .setExpirationTime("60s")
      .sign(new TextEncoder().encode(TEST_SECRET));
    await expectRejected(token, "invalid_token", body);
  });

  it("rejects a token issued for another job", async () => {
    const body = jobRequest("provision", newTenant());
    const other = jobRequest("provision", newTenant()).job;
    const res = await expectRejected(await signJobToken(other), "invalid_token", body);
    expect(res.body.detail).toBe("the job token was issued for a different job or attempt");
  });

  it("rejects a token for another attempt of the same job", async () => {
    const body = jobRequest("provision", newTenant(), 2);
    await expectRejected(await signJobToken({ ...body.job, attempt: 1 }), "invalid_token", body);
  });
});

describe("job body", () => {
  it("answers 400 validation_failed with the offending fields", async () => {
    const body = jobRequest("provision", newTenant());
    const bad = {
      ...body,
      job: { ...body.job, kind: "explode" },
      tenant: { ...body.tenant, slug: "Not A Slug" },
    };
    const res = await postJob(provisioner.url, bad, await signJobToken(body.job));
    expect(res.status).toBe(400);
    expect(res.contentType).toBe("application/problem+json");
    expect(res.body).toMatchObject({ code: "validation_failed", status: 400 });
    expect((res.body.errors as { path: string }[]).map((e) => e.path).sort()).toEqual([
      "job.kind",
      "tenant.slug",
    ]);
  });

  it("rejects negative quotas and a zero attempt", async () => {
    const body = jobRequest("provision", newTenant());
    const bad = {
      job: { ...body.job, attempt: 0 },
      tenant: { ...body.tenant, quotas: { ...body.tenant.quotas, gpus: -1 } },
    };
    const res = await postJob(provisioner.url, bad, await signJobToken(body.job));
    expect(res.status).toBe(400);
    expect((res.body.errors as { path: string }[]).map((e) => e.path).sort()).toEqual([
      "job.attempt",
      "tenant.quotas.gpus",
    ]);
  });

  it("answers 400 malformed_json for a body that is not JSON", async () => {
    const job = jobRequest("provision", newTenant()).job;
    const res = await postJob(provisioner.url, "{not json", await signJobToken(job));
    expect(res.status).toBe(400);
    expect(res.body.code).toBe("malformed_json");
  });

  it("answers 413 for a body over 64 KiB", async () => {
    const body = jobRequest("provision", newTenant());
    const res = await postJob(
      provisioner.url,
      { ...body, padding: "x".repeat(70_000) },
      await signJobToken(body.job),
    );
    expect(res.status).toBe(413);
    expect(res.contentType).toBe("application/problem+json");
    expect(res.body.code).toBe("payload_too_large");
  });

  it("checks the token before looking at the body", async () => {
    await expectRejected("not.a.jwt", "invalid_token", { nonsense: true } as never);
  });
});
