/**
 * Turns the request's credential into a principal: `Authorization: Bearer <jwt>`,
 * `Authorization: Bearer uk_…` or `X-API-Key: uk_…`. Exactly one credential per request.
 */
import type { HttpDatabase } from "../../db/client";
import type { Config } from "../../env";
import { verifyAccessToken } from "../../lib/jwt";
import { invalidToken, Problem } from "../../lib/problem";
import { authenticateApiKey } from "./api-keys";
import type { Principal } from "./principal";

const BEARER = /^Bearer\s+(\S+)\s*$/i;

export async function authenticate(
  http: HttpDatabase,
  config: Config,
  headers: { authorization?: string; apiKey?: string },
): Promise<Principal | undefined> {
  const { authorization, apiKey } = headers;
  if (authorization === undefined && apiKey === undefined) return undefined;
  if (authorization !== undefined && apiKey !== undefined) {
    throw invalidToken("Send one credential: either Authorization or X-API-Key.");
  }
  // `return await`, not `return`: workerd reports a rejection as unhandled if no handler is
  // attached in the same tick, and a bare `return` attaches it one microtask later.
  if (apiKey !== undefined) return await authenticateApiKey(http, apiKey.trim());
  const token = bearerToken(authorization);
  if (!token) throw invalidToken("The Authorization header must be `Bearer <token>`.");
  if (token.startsWith("uk_")) return await authenticateApiKey(http, token);
  const claims = await verifyAccessToken(config, token);
  return {
    kind: "user",
    userId: claims.sub,
    tenant:
      claims.tenant_id && claims.tenant_slug ? { id: claims.tenant_id, slug: claims.tenant_slug } : null,
    tokenVersion: claims.ver,
    issuedAt: claims.iat,
    mustChangePassword: claims.pwd_change,
  };
}

/** The token of an `Authorization: Bearer <token>` header, if it has that shape. */
export function bearerToken(authorization: string | undefined): string | undefined {
  return BEARER.exec(authorization ?? "")?.[1];
}

export function unauthenticated(): Problem {
  return new Problem("unauthenticated", "This route needs a bearer token or an API key.", {
    headers: { "WWW-Authenticate": 'Bearer realm="tenantry"' },
  });
}
