/**
 * Request tokens: HS256 JWTs the Worker signs with PROVISIONER_SECRET for exactly one
 * request. Each is short-lived (≤ 60 s), bound to the exact body bytes (`body_sha256`), to
 * the job, tenant and kind it names (`sub`, `tenant_id`, `kind`), and accepted once (`jti`,
 * see replay-cache.ts). A captured token therefore authorises nothing: not another body,
 * not another tenant or kind, and not the same request a second time.
 */
import { createHash } from "node:crypto";
import { jwtVerify } from "jose";

export const JWT_ISSUER = "tenantry";
export const JWT_AUDIENCE = "provisioner";
export const MAX_TOKEN_LIFETIME_S = 60;
export const CLOCK_TOLERANCE_S = 5;
/** The `kind` of a status ping's token; job tokens carry the job's kind. */
export const PING_KIND = "ping";

export class TokenError extends Error {
  constructor(
    readonly code: "unauthenticated" | "invalid_token",
    message: string,
  ) {
    super(message);
    this.name = "TokenError";
  }
}

export interface RequestClaims {
  sub: string;
  jti: string;
  kind: string;
  /** Absent on pings, which concern no tenant. */
  tenant_id?: string;
  body_sha256: string;
  /** Seconds since the epoch. */
  exp: number;
}

export function bearerToken(authorization: string | undefined): string {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "");
  if (!match?.[1]) throw new TokenError("unauthenticated", "a Bearer job token is required");
  return match[1];
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

export const EMPTY_BODY_SHA256 = sha256Hex(new Uint8Array());

/** Signature, algorithm, issuer, audience, lifetime and claim types; not yet the request. */
export async function verifyRequestToken(token: string, key: Uint8Array): Promise<RequestClaims> {
  let payload: Awaited<ReturnType<typeof jwtVerify>>["payload"];
  try {
    ({ payload } = await jwtVerify(token, key, {
      algorithms: ["HS256"],
      issuer: JWT_ISSUER,
      audience: JWT_AUDIENCE,
      clockTolerance: CLOCK_TOLERANCE_S,
      maxTokenAge: MAX_TOKEN_LIFETIME_S,
      requiredClaims: ["exp", "iat", "sub", "jti", "kind", "body_sha256"],
    }));
  } catch (err) {
    throw new TokenError(
      "invalid_token",
      `job token rejected: ${err instanceof Error ? err.message : "invalid"}`,
    );
  }
  const { exp, iat, sub, jti, kind, tenant_id, body_sha256 } = payload;
  // maxTokenAge bounds the age, not the lifetime: a token minted for an hour stays refused.
  if (exp === undefined || iat === undefined || exp - iat > MAX_TOKEN_LIFETIME_S) {
    throw new TokenError("invalid_token", `job tokens may live at most ${MAX_TOKEN_LIFETIME_S} s`);
  }
  if (
    typeof sub !== "string" ||
    typeof jti !== "string" ||
    jti.length === 0 ||
    jti.length > 128 ||
    typeof kind !== "string" ||
    (tenant_id !== undefined && typeof tenant_id !== "string") ||
    typeof body_sha256 !== "string" ||
    !/^[0-9a-f]{64}$/.test(body_sha256)
  ) {
    throw new TokenError("invalid_token", "job token claims have the wrong types");
  }
  return { sub, jti, kind, ...(tenant_id === undefined ? {} : { tenant_id }), body_sha256, exp };
}

/** The exact bytes received must be the bytes the token was signed for. */
export function assertBodyMatches(claims: RequestClaims, body: Uint8Array): void {
  if (sha256Hex(body) !== claims.body_sha256) {
    throw new TokenError("invalid_token", "the job token was issued for a different body");
  }
}

/** A job token names its job (`sub`), tenant and kind; the body must agree on all three. */
export function assertTokenMatchesJob(
  claims: RequestClaims,
  req: { job: { id: string; kind: string }; tenant: { id: string } },
): void {
  if (claims.sub !== req.job.id || claims.tenant_id !== req.tenant.id || claims.kind !== req.job.kind) {
    throw new TokenError("invalid_token", "the job token was issued for a different job, tenant or kind");
  }
}

export function assertPingToken(claims: RequestClaims): void {
  if (claims.kind !== PING_KIND || claims.body_sha256 !== EMPTY_BODY_SHA256) {
    throw new TokenError("invalid_token", "a status ping needs a ping token for an empty body");
  }
}
