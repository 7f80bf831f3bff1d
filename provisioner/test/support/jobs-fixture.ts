/**
 * Builders for job requests and job tokens as the Worker sends them, so tests speak the
 * exact wire contract of `POST /v1/jobs`.
 */
import { randomUUID } from "node:crypto";
import { SignJWT } from "jose";
import type { JobKind } from "../../src/job-request";
import { PLAN_QUOTAS, type Plan } from "../../src/plans";
import { startProvisioner } from "../../src/server";
import { startFakeKubeApi } from "./fake-kube-api";

export const TEST_SECRET = "provisioner-test-secret-0123456789abcdef";

export interface TestTenant {
  id: string;
  slug: string;
  plan: Plan;
  quotas: { cpu_cores: number; memory_gb: number; storage_gb: number; gpus: number };
}

let slugCounter = 0;

/** A fresh tenant with a slug no other test uses, so tests can share one fake cluster. */
export function newTenant(plan: Plan = "pro"): TestTenant {
  slugCounter += 1;
  return { id: randomUUID(), slug: `t${process.pid}-${slugCounter}`, plan, quotas: { ...PLAN_QUOTAS[plan] } };
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
  /** Seconds since the epoch. */
  iat?: number;
  exp?: number;
}

export async function signJobToken(
  job: { id: string; attempt: number },
  opts: TokenOptions = {},
): Promise<string> {
  const iat = opts.iat ?? Math.floor(Date.now() / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuer(opts.issuer ?? "tenantry")
    .setAudience(opts.audience ?? "provisioner")
    .setSubject(opts.sub ?? job.id)
    .setJti(opts.jti ?? `${job.id}:${job.attempt}`)
    .setIssuedAt(iat)
    .setExpirationTime(opts.exp ?? iat + 60)
    .sign(new TextEncoder().encode(opts.secret ?? TEST_SECRET));
}

export interface JobResponse {
  status: number;
  contentType: string | null;
  body: Record<string, unknown>;
}

/** POSTs a job; `token: null` sends no Authorization header, undefined signs a valid one. */
export async function postJob(baseUrl: string, body: unknown, token?: string | null): Promise<JobResponse> {
  const job = (body as { job?: { id: string; attempt: number } }).job;
  const bearer = token === undefined && job ? await signJobToken(job) : token;
  const res = await fetch(`${baseUrl}/v1/jobs`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) },
    body: typeof body === "string" ? body : JSON.stringify(body),
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
