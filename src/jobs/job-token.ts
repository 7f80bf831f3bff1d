/**
 * The tokens that authorise one request to the provisioner (provisioner/README.md "HTTP
 * API"): HS256 with PROVISIONER_SECRET, `aud: provisioner`, valid for 60 s, with a fresh
 * `jti` the provisioner accepts once, and bound to the request: `sub` (the job), `tenant_id`,
 * `kind` and `body_sha256`, the SHA-256 of the exact body bytes sent. A captured token
 * therefore authorises neither another body, tenant or kind, nor the same request again.
 */
import { SignJWT } from "jose";
import { sha256Hex, utf8 } from "../lib/encoding";

export const JOB_TOKEN_ISSUER = "tenantry";
export const JOB_TOKEN_AUDIENCE = "provisioner";
export const JOB_TOKEN_TTL_S = 60;
/** The `kind` of a status ping's token (GET /v1/status, empty body). */
export const PING_KIND = "ping";

export interface TokenBinding {
  /** The job id; `ping` for a status ping. */
  sub: string;
  kind: string;
  /** Absent on pings, which concern no tenant. */
  tenantId?: string;
  /** The exact text sent as the body ("" for none); fetch sends it as UTF-8. */
  body: string;
}

export async function signRequestToken(secret: string, binding: TokenBinding): Promise<string> {
  // Real time, not `clock`: the provisioner checks `iat`/`exp` against its own wall clock.
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({
    kind: binding.kind,
    ...(binding.tenantId === undefined ? {} : { tenant_id: binding.tenantId }),
    body_sha256: await sha256Hex(binding.body),
  })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuer(JOB_TOKEN_ISSUER)
    .setAudience(JOB_TOKEN_AUDIENCE)
    .setSubject(binding.sub)
    .setJti(crypto.randomUUID())
    .setIssuedAt(now)
    .setExpirationTime(now + JOB_TOKEN_TTL_S)
    .sign(utf8(secret));
}

/** The token for one delivery of a job, over the body text that will be sent. */
export function signJobToken(
  secret: string,
  request: { job: { id: string; kind: string }; tenant: { id: string } },
  body: string,
): Promise<string> {
  return signRequestToken(secret, {
    sub: request.job.id,
    kind: request.job.kind,
    tenantId: request.tenant.id,
    body,
  });
}

/**
 * The token for one request about a tenant's dedicated database (`create_database` or
 * `drop_database`): it names the tenant as `sub` and `tenant_id`, and binds the body text.
 */
export function signDatabaseToken(
  secret: string,
  request: { kind: string; tenantId: string },
  body: string,
): Promise<string> {
  return signRequestToken(secret, {
    sub: request.tenantId,
    kind: request.kind,
    tenantId: request.tenantId,
    body,
  });
}

export function signPingToken(secret: string): Promise<string> {
  return signRequestToken(secret, { sub: PING_KIND, kind: PING_KIND, body: "" });
}
