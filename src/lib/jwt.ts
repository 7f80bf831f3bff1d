/**
 * Access tokens. The API issues HS256 tokens signed with JWT_SECRET; with JWKS_URL it also
 * accepts RS256/ES256 tokens from an external IdP that carry the same claims. Algorithms
 * are pinned per key type, so `alg: none` and HS/RS confusion fail before any signature work.
 */
import { createRemoteJWKSet, decodeProtectedHeader, errors, type JWTPayload, jwtVerify, SignJWT } from "jose";
import { z } from "zod";
import { ROLES, type Role } from "../db/schema";
import type { Config } from "../env";
import { clock } from "./clock";
import { utf8 } from "./encoding";
import { invalidToken, Problem } from "./problem";

export const ACCESS_TOKEN_TTL_S = 3600;
const CLOCK_SKEW_S = 30;
/** A JWT bigger than this is refused unparsed: no legitimate token of ours comes near it. */
const MAX_TOKEN_LENGTH = 8192;
const ASYMMETRIC = ["RS256", "ES256"];

export interface AccessClaims {
  sub: string;
  tenant_id: string | null;
  tenant_slug: string | null;
  role: Role | null;
  is_system_admin: boolean;
  /** The user's token version at issue; an older one than the user's current is revoked. */
  ver: number | null;
  /** Issued for a temporary password: only the routes that change it accept the token. */
  pwd_change: boolean;
}

/** What a verified token says, with its issue time (seconds). */
export type VerifiedClaims = AccessClaims & { iat: number };

const claimsSchema = z.object({
  sub: z.uuid(),
  tenant_id: z.uuid().nullable().optional(),
  tenant_slug: z.string().nullable().optional(),
  role: z.enum(ROLES).nullable().optional(),
  is_system_admin: z.boolean().optional(),
  ver: z.number().int().nonnegative().optional(),
  pwd_change: z.boolean().optional(),
  iat: z.number(),
  exp: z.number(),
});

export async function signAccessToken(config: Config, claims: AccessClaims): Promise<string> {
  const now = Math.floor(clock.now() / 1000);
  return new SignJWT({ ...claims })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuer(config.JWT_ISSUER)
    .setAudience(config.JWT_AUDIENCE)
    .setSubject(claims.sub)
    .setIssuedAt(now)
    .setExpirationTime(now + ACCESS_TOKEN_TTL_S)
    .setJti(crypto.randomUUID())
    .sign(await hmacKey(config.JWT_SECRET));
}

/**
 * The HS256 key, imported once per isolate (and again only if the secret changes): handing
 * jose the raw bytes would import them again on every request.
 */
type HmacKey = Awaited<ReturnType<typeof crypto.subtle.importKey>>;
let hmac: { secret: string; key: Promise<HmacKey> } | undefined;

function hmacKey(secret: string): Promise<HmacKey> {
  if (hmac?.secret !== secret) {
    hmac = {
      secret,
      key: crypto.subtle.importKey("raw", utf8(secret), { name: "HMAC", hash: "SHA-256" }, false, [
        "sign",
        "verify",
      ]),
    };
  }
  return hmac.key;
}

const jwksSets = new Map<string, ReturnType<typeof createRemoteJWKSet>>();

function jwksFor(url: string) {
  let set = jwksSets.get(url);
  if (!set) {
    set = createRemoteJWKSet(new URL(url), { timeoutDuration: 3_000, cooldownDuration: 30_000 });
    jwksSets.set(url, set);
  }
  return set;
}

/** Verifies a bearer JWT and returns its claims; every failure is 401 `invalid_token`. */
export async function verifyAccessToken(config: Config, token: string): Promise<VerifiedClaims> {
  if (token.length > MAX_TOKEN_LENGTH) throw invalidToken("The token is too large.");
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(token);
  } catch {
    throw invalidToken("The token is malformed.");
  }
  // We understand no critical extension. Refused here because jose throws on one before its
  // first await, and workerd reports that rejection as unhandled.
  if (header.crit !== undefined)
    throw invalidToken("The token's critical header extensions are not supported.");
  const { alg } = header;
  const options = {
    issuer: config.JWT_ISSUER,
    audience: config.JWT_AUDIENCE,
    clockTolerance: CLOCK_SKEW_S,
    currentDate: new Date(clock.now()),
  };
  let payload: JWTPayload;
  try {
    if (alg === "HS256") {
      ({ payload } = await jwtVerify(token, await hmacKey(config.JWT_SECRET), {
        ...options,
        algorithms: ["HS256"],
      }));
    } else if (alg && ASYMMETRIC.includes(alg) && config.JWKS_URL) {
      ({ payload } = await jwtVerify(token, jwksFor(config.JWKS_URL), {
        ...options,
        algorithms: ASYMMETRIC,
      }));
    } else {
      throw invalidToken("The token's algorithm is not accepted.");
    }
  } catch (err) {
    if (err instanceof Problem) throw err;
    throw invalidToken(describeJoseError(err));
  }
  const parsed = claimsSchema.safeParse(payload);
  if (!parsed.success) throw invalidToken("The token's claims are not valid.");
  if (parsed.data.exp - parsed.data.iat > ACCESS_TOKEN_TTL_S)
    throw invalidToken("The token lives longer than 1 hour.");
  return {
    sub: parsed.data.sub,
    tenant_id: parsed.data.tenant_id ?? null,
    tenant_slug: parsed.data.tenant_slug ?? null,
    role: parsed.data.role ?? null,
    is_system_admin: parsed.data.is_system_admin ?? false,
    ver: parsed.data.ver ?? null,
    pwd_change: parsed.data.pwd_change ?? false,
    iat: parsed.data.iat,
  };
}

function describeJoseError(err: unknown): string {
  if (err instanceof errors.JWTExpired) return "The token has expired.";
  if (err instanceof errors.JWTClaimValidationFailed)
    return `The token's ${err.claim} claim is not accepted.`;
  if (err instanceof errors.JWSSignatureVerificationFailed) return "The token's signature is not valid.";
  return "The token is not valid.";
}
