/**
 * The token that authorises one attempt of one job at the provisioner (provisioner/README.md
 * "HTTP API"): HS256 with PROVISIONER_SECRET, `aud: provisioner`, `sub` = job id and
 * `jti` = "<job id>:<attempt>", valid for 60 s. The provisioner refuses a token whose job or
 * attempt differs from the body's, so a captured token authorises nothing else.
 */
import { SignJWT } from "jose";
import { utf8 } from "../lib/encoding";

export const JOB_TOKEN_ISSUER = "tenantry";
export const JOB_TOKEN_AUDIENCE = "provisioner";
export const JOB_TOKEN_TTL_S = 60;

export function signJobToken(secret: string, job: { id: string; attempt: number }): Promise<string> {
  // Real time, not `clock`: the provisioner checks `iat`/`exp` against its own wall clock.
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuer(JOB_TOKEN_ISSUER)
    .setAudience(JOB_TOKEN_AUDIENCE)
    .setSubject(job.id)
    .setJti(`${job.id}:${job.attempt}`)
    .setIssuedAt(now)
    .setExpirationTime(now + JOB_TOKEN_TTL_S)
    .sign(utf8(secret));
}
