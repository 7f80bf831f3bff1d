/**
 * Builders for job requests and job tokens as the Worker sends them, so tests speak the
 * exact wire contract of `POST /v1/jobs`.
 */
import { createHash, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { type JobKind, type JobRequest, namespaceQuotas, PLAN_QUOTAS, type Plan } from "@tenantry/contract";
import { SignJWT } from "jose";
import { startProvisioner } from "../../src/server";
import { startFakeKubeApi } from "./fake-kube-api";

export const TEST_SECRET = "provisioner-test-secret-0123456789abcdef";

/** provisioner/package.json's version, which the status ping reports. */
export const PACKAGE_VERSION: string = JSON.parse(
  readFileSync(new URL("../../package.json", import.meta.url), "utf8"),
).version;

export type TestTenant = JobRequest["tenant"];

let slugCounter = 0;

/** A fresh tenant with a slug no other test uses, so tests can share one fake cluster. */
export function newTenant(plan: Plan = "pro"): TestTenant {
  slugCounter += 1;
  return {
    id: randomUUID(),
    slug: `t${process.pid}-${slugCounter}`,
    plan,
    quotas: namespaceQuotas(PLAN_QUOTAS[plan]),
  };
}

export function jobRequest(kind: JobKind, tenant: TestTenant, attempt = 1) {
  return { job: { id: randomUUID(), kind, attempt }, tenant };
}

export interface TokenOptions {
  secret?: string;
  issuer?: string;
  audience?: string;
  sub?: string;
  jti?: string;
  kind?: string;
  /** null leaves the claim out. */
  tenantId?: string | null;
  /** Overrides the hash of the body the token is signed for. */
  bodySha256?: string;
  /** Seconds since the epoch. */
  iat?: number;
  exp?: number;
}

export const sha256Hex = (text: string) => createHash("sha256").update(text).digest("hex");

/** The token the Worker signs for one request: bound to its job, tenant, kind and exact body text. */
export async function signJobToken(
  request: { job: { id: string; kind: string }; tenant: { id: string } },
  text: string,
  opts: TokenOptions = {},
): Promise<string> {
  return signToken({ sub: request.job.id, kind: request.job.kind, tenantId: request.tenant.id, text }, opts);
}

/** The Worker's status ping token: kind `ping`, signed for an empty body. */
export function signPingToken(opts: TokenOptions = {}): Promise<string> {
  return signToken({ sub: "ping", kind: "ping", tenantId: null, text: "" }, opts);
}

async function signToken(
  bound: { sub: string; kind: string; tenantId: string | null; text: string },
  opts: TokenOptions,
): Promise<string> {
  const iat = opts.iat ?? Math.floor(Date.now() / 1000);
  const tenantId = opts.tenantId === undefined ? bound.tenantId : opts.tenantId;
  return new SignJWT({
    kind: opts.kind ?? bound.kind,
    ...(tenantId === null ? {} : { tenant_id: tenantId }),
    body_sha256: opts.bodySha256 ?? sha256Hex(bound.text),
  })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuer(opts.issuer ?? "tenantry")
    .setAudience(opts.audience ?? "provisioner")
    .setSubject(opts.sub ?? bound.sub)
    .setJti(opts.jti ?? randomUUID())
    .setIssuedAt(iat)
    .setExpirationTime(opts.exp ?? iat + 60)
    .sign(new TextEncoder().encode(opts.secret ?? TEST_SECRET));
}

export interface JobResponse {
  status: number;
  contentType: string | null;
  body: Record<string, unknown>;
}

type JobBody = { job: { id: string; kind: string }; tenant: { id: string } };

/**
 * POSTs a job. `token`: a string is sent as is, null sends no Authorization header, a
 * function signs for the exact text sent, undefined signs a valid token for it.
 */
export async function postJob(
  baseUrl: string,
  body: unknown,
  token?: string | null | ((text: string) => Promise<string>),
): Promise<JobResponse> {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  const bearer =
    token === undefined
      ? await signJobToken(body as JobBody, text)
      : typeof token === "function"
        ? await token(text)
        : token;
  return send(baseUrl, text, bearer);
}

/** POSTs `text` with a given bearer token, e.g. to replay a captured request. */
export async function send(baseUrl: string, text: string, bearer: string | null): Promise<JobResponse> {
  const res = await fetch(`${baseUrl}/v1/jobs`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) },
    body: text,
  });
  return {
    status: res.status,
    contentType: res.headers.get("content-type"),
    body: (await res.json()) as Record<string, unknown>,
  };
}

/** A provisioner applying to a strict fake API server, both on free ports, for one test file. */
export async function startProvisionerOnFake(timeoutMs: number) {
  const fake = await startFakeKubeApi();
  const provisioner = await startProvisioner({
    port: 0,
    secret: TEST_SECRET,
    server: fake.url,
    timeoutMs,
    log: () => {},
  });
  return {
    fake,
    provisioner,
    stop: async () => {
      await provisioner.stop();
      await fake.stop();
    },
  };
}
