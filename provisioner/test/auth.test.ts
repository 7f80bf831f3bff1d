import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningProvisioner, startProvisioner } from "../src/server";
import type { FakeKubeApi } from "./support/fake-kube-api";
import {
  jobRequest,
  newTenant,
  postJob,
  send,
  sha256Hex,
  signJobToken,
  signPingToken,
  startProvisionerOnFake,
  TEST_SECRET,
  type TestTenant,
  type TokenOptions,
} from "./support/jobs-fixture";

// Dry-run mode: authentication is decided before any Kubernetes work.
let provisioner: RunningProvisioner;

beforeAll(async () => {
  provisioner = await startProvisioner({ port: 0, secret: TEST_SECRET, dryRun: true, log: () => {} });
});
afterAll(() => provisioner.stop());

const now = () => Math.floor(Date.now() / 1000);
const b64url = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");

/** Signs a token for `body` as sent, with some claims overridden. */
const signedWith =
  (body: ReturnType<typeof jobRequest>, opts: TokenOptions) =>
  (text: string): Promise<string> =>
    signJobToken(body, text, opts);

/** A token signed by hand with the right secret, to set what the fixture would not: `extra` claims, `alg`. */
function signRaw(body: ReturnType<typeof jobRequest>, extra: Record<string, unknown>, alg = "HS256") {
  return new SignJWT({ jti: crypto.randomUUID(), kind: body.job.kind, tenant_id: body.tenant.id, ...extra })
    .setProtectedHeader({ alg })
    .setIssuer("tenantry")
    .setAudience("provisioner")
    .setSubject(body.job.id)
    .setIssuedAt()
    .setExpirationTime("60s")
    .sign(new TextEncoder().encode(TEST_SECRET));
}

async function expectRejected(
  token: string | null | ((text: string) => Promise<string>),
  code: string,
  body: unknown = jobRequest("provision", newTenant()),
  url = provisioner.url,
) {
  const res = await postJob(url, body, token);
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
    const res = await postJob(provisioner.url, body, signedWith(body, { iat: now() - 60, exp: now() - 3 }));
    expect(res.status).toBe(200);
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
      signedWith(body, { secret: "not-the-provisioner-secret-0123456789" }),
      "invalid_token",
      body,
    );
  });

  it("rejects an expired token", async () => {
    const body = jobRequest("provision", newTenant());
    await expectRejected(signedWith(body, { iat: now() - 90, exp: now() - 30 }), "invalid_token", body);
  });

  it("rejects a token for another audience or issuer", async () => {
    const body = jobRequest("provision", newTenant());
    await expectRejected(signedWith(body, { audience: "api" }), "invalid_token", body);
    await expectRejected(signedWith(body, { issuer: "someone-else" }), "invalid_token", body);
  });

  it("rejects a token that lives longer than 60 s", async () => {
    const body = jobRequest("provision", newTenant());
    const res = await expectRejected(signedWith(body, { exp: now() + 3600 }), "invalid_token", body);
    expect(res.body.detail).toBe("job tokens may live at most 60 s");
  });

  it("rejects an unsigned (alg: none) token", async () => {
    const body = jobRequest("provision", newTenant());
    const text = JSON.stringify(body);
    const claims = {
      iss: "tenantry",
      aud: "provisioner",
      sub: body.job.id,
      jti: crypto.randomUUID(),
      kind: body.job.kind,
      tenant_id: body.tenant.id,
      body_sha256: sha256Hex(text),
      iat: now(),
      exp: now() + 60,
    };
    await expectRejected(`${b64url({ alg: "none", typ: "JWT" })}.${b64url(claims)}.`, "invalid_token", text);
  });

  it("rejects another HMAC algorithm even with the right secret", async () => {
    const body = jobRequest("provision", newTenant());
    const text = JSON.stringify(body);
    const token = await signRaw(body, { body_sha256: sha256Hex(text) }, "HS512");
    await expectRejected(token, "invalid_token", text);
  });

  it("rejects a token without the body hash, or with one that is not a SHA-256 hex digest", async () => {
    const body = jobRequest("provision", newTenant());
    const text = JSON.stringify(body);
    const unbound = await signRaw(body, {});
    const missing = await expectRejected(unbound, "invalid_token", text);
    expect(missing.body.detail).toMatch(/body_sha256/);
    await expectRejected(
      signedWith(body, { bodySha256: sha256Hex(text).toUpperCase() }),
      "invalid_token",
      text,
    );
  });

  it("rejects a token issued for another job", async () => {
    const body = jobRequest("provision", newTenant());
    const other = jobRequest("provision", newTenant());
    const res = await expectRejected(signedWith(body, { sub: other.job.id }), "invalid_token", body);
    expect(res.body.detail).toBe("the job token was issued for a different job, tenant or kind");
  });

  it("rejects a status ping token", async () => {
    const body = jobRequest("provision", newTenant());
    await expectRejected(await signPingToken(), "invalid_token", body);
  });

  it("checks the token before looking at the body", async () => {
    await expectRejected("not.a.jwt", "invalid_token", { nonsense: true });
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
    const res = await postJob(provisioner.url, bad, signedWith(body, {}));
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
    const res = await postJob(provisioner.url, bad, signedWith(body, {}));
    expect(res.status).toBe(400);
    expect((res.body.errors as { path: string }[]).map((e) => e.path).sort()).toEqual([
      "job.attempt",
      "tenant.quotas.gpus",
    ]);
  });

  it("answers 400 malformed_json for a signed body that is not JSON", async () => {
    const body = jobRequest("provision", newTenant());
    const res = await postJob(provisioner.url, "{not json", signedWith(body, {}));
    expect(res.status).toBe(400);
    expect(res.body.code).toBe("malformed_json");
  });

  it("answers 413 for a body over 64 KiB", async () => {
    const body = jobRequest("provision", newTenant());
    const res = await postJob(provisioner.url, { ...body, padding: "x".repeat(70_000) });
    expect(res.status).toBe(413);
    expect(res.contentType).toBe("application/problem+json");
    expect(res.body.code).toBe("payload_too_large");
  });
});

describe("a job token is bound to its request (strict fake Kubernetes API)", () => {
  let fake: FakeKubeApi;
  let live: RunningProvisioner;
  let stop: () => Promise<void>;

  beforeAll(async () => {
    ({ fake, provisioner: live, stop } = await startProvisionerOnFake(2_000));
  });
  afterAll(() => stop());

  /** Every request the provisioner made to the API server about this tenant's namespace. */
  const requestsFor = (tenant: TestTenant) =>
    fake.requests.filter((r) => r.path.includes(`/namespaces/tenant-${tenant.slug}`));

  it("a tampered body is refused and nothing is applied", async () => {
    const tenant = newTenant("free");
    const body = jobRequest("provision", tenant);
    const text = JSON.stringify(body);
    const token = await signJobToken(body, text);
    const tampered = [
      {
        ...body,
        tenant: { ...body.tenant, plan: "enterprise", quotas: { ...body.tenant.quotas, cpu_cores: 256 } },
      },
      { ...body, job: { ...body.job, kind: "deprovision" } },
    ];
    for (const forged of tampered) {
      const res = await send(live.url, JSON.stringify(forged), token);
      expect(res.status).toBe(401);
      expect(res.body).toMatchObject({
        code: "invalid_token",
        detail: "the job token was issued for a different body",
      });
    }
    // Byte-exact: even whitespace the JSON parser would ignore changes the hash.
    expect((await send(live.url, `${text} `, token)).status).toBe(401);
    expect(requestsFor(tenant)).toEqual([]);

    // The refused copies did not use the token up: the genuine request still goes through.
    expect((await send(live.url, text, token)).body).toMatchObject({ status: "succeeded" });
  });

  it("a replayed token is refused and nothing is applied again", async () => {
    const tenant = newTenant();
    const body = jobRequest("provision", tenant);
    const text = JSON.stringify(body);
    const token = await signJobToken(body, text);
    const first = await send(live.url, text, token);
    expect(first.status).toBe(200);
    const applied = requestsFor(tenant).length;
    expect(applied).toBeGreaterThan(0);

    const replay = await send(live.url, text, token);
    expect(replay.status).toBe(401);
    expect(replay.body).toMatchObject({ code: "invalid_token", detail: "the job token was already used" });
    expect(requestsFor(tenant)).toHaveLength(applied);
  });

  it("a deprovision body under another tenant's token is refused and nothing is deleted", async () => {
    const victim = newTenant();
    expect((await postJob(live.url, jobRequest("provision", victim))).status).toBe(200);
    const before = requestsFor(victim).length;

    // A captured token of another tenant's job, sent with a deprovision of the victim.
    const attacker = jobRequest("provision", newTenant());
    const token = await signJobToken(attacker, JSON.stringify(attacker));
    const res = await send(live.url, JSON.stringify(jobRequest("deprovision", victim)), token);
    expect(res.status).toBe(401);
    expect(requestsFor(victim)).toHaveLength(before);
    expect(fake.requests.filter((r) => r.method === "DELETE")).toEqual([]);
  });

  it("a token whose tenant or kind differs from its body's is refused, even over the right bytes", async () => {
    const tenant = newTenant();
    const other = newTenant();
    const body = jobRequest("deprovision", tenant);
    for (const opts of [
      { tenantId: other.id },
      { tenantId: null },
      { kind: "provision" },
    ] as TokenOptions[]) {
      const res = await expectRejected(signedWith(body, opts), "invalid_token", body, live.url);
      expect(res.body.detail).toBe("the job token was issued for a different job, tenant or kind");
    }
    expect(requestsFor(tenant)).toEqual([]);
  });
});

describe("replay cache capacity", () => {
  it("refuses new tokens with 503 while it is full of live ones, rather than forget one", async () => {
    const small = await startProvisioner({
      port: 0,
      secret: TEST_SECRET,
      dryRun: true,
      replayCacheCapacity: 2,
      log: () => {},
    });
    try {
      const tenant = newTenant();
      expect((await postJob(small.url, jobRequest("provision", tenant))).status).toBe(200);
      expect((await postJob(small.url, jobRequest("suspend", tenant))).status).toBe(200);
      const full = await postJob(small.url, jobRequest("resume", tenant));
      expect(full.status).toBe(503);
      expect(full.body).toMatchObject({ code: "replay_cache_full" });
    } finally {
      await small.stop();
    }
  });
});
