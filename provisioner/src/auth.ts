/**
 * Job tokens: HS256 JWTs the Worker signs with PROVISIONER_SECRET for exactly one job
 * attempt. Short-lived (≤ 60 s) and bound to the job id and attempt, so a captured token
 * cannot authorise a different job or live long enough to matter.
 */
import { jwtVerify } from "jose";

export const JWT_ISSUER = "tenantry";
export const JWT_AUDIENCE = "provisioner";
export const MAX_TOKEN_LIFETIME_S = 60;
const CLOCK_TOLERANCE_S = 5;

export class TokenError extends Error {
  constructor(
    readonly code: "unauthenticated" | "invalid_token",
    message: string,
  ) {
    super(message);
    this.name = "TokenError";
  }
}

export interface JobClaims {
  sub: string;
  jti: string;
}

export function bearerToken(authorization: string | undefined): string {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "");
  if (!match?.[1]) throw new TokenError("unauthenticated", "a Bearer job token is required");
  return match[1];
}

export async function verifyJobToken(token: string, key: Uint8Array): Promise<JobClaims> {
  let payload: Awaited<ReturnType<typeof jwtVerify>>["payload"];
  try {
    ({ payload } = await jwtVerify(token, key, {
      algorithms: ["HS256"],
      issuer: JWT_ISSUER,
      audience: JWT_AUDIENCE,
      clockTolerance: CLOCK_TOLERANCE_S,
      maxTokenAge: MAX_TOKEN_LIFETIME_S,
      requiredClaims: ["exp", "iat", "sub", "jti"],
    }));
  } catch (err) {
    throw new TokenError(
      "invalid_token",
      `job token rejected: ${err instanceof Error ? err.message : "invalid"}`,
    );
  }
  const { exp, iat, sub, jti } = payload;
  // maxTokenAge bounds the age, not the lifetime: a token minted for an hour stays refused.
  if (exp === undefined || iat === undefined || exp - iat > MAX_TOKEN_LIFETIME_S) {
    throw new TokenError("invalid_token", `job tokens may live at most ${MAX_TOKEN_LIFETIME_S} s`);
  }
  if (typeof sub !== "string" || typeof jti !== "string") {
    throw new TokenError("invalid_token", "job token sub and jti must be strings");
  }
  return { sub, jti };
}

/** The token names its job as `sub` and `jti = "<jobId>:<attempt>"`; the body must agree. */
export function assertTokenMatchesJob(claims: JobClaims, job: { id: string; attempt: number }): void {
  if (claims.sub !== job.id || claims.jti !== `${job.id}:${job.attempt}`) {
    throw new TokenError("invalid_token", "the job token was issued for a different job or attempt");
  }
}
