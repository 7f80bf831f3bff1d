/**
 * The console's session: one signed cookie `__Host-tenantry_console` holding the CSRF secret
 * and, once signed in, the API access token that POST /api/v1/auth/login returned (a JWT of
 * at most an hour) and the email it was issued to. HttpOnly, Secure and SameSite=Strict; the
 * `__Host-` prefix pins it to this host and path `/`, so no sibling subdomain can plant one.
 * The signature (HMAC-SHA256 under a key derived from MASTER_KEY) binds the CSRF secret to the
 * token: a form token from one session is worthless in another. The token is the same bearer
 * credential any API client holds; the console never looks inside it for authorisation,
 * only for display and expiry; every decision is the API's.
 */
import type { Context } from "hono";
import { deleteCookie, getSignedCookie, setSignedCookie } from "hono/cookie";
import { decodeJwt } from "jose";
import { z } from "zod";
import { ROLES, type Role } from "../db/schema";
import { clock } from "../lib/clock";
import { toBase64 } from "../lib/encoding";
import type { AppBindings } from "../request-env";
import { masterSubkey } from "../services/platform/crypto";

const COOKIE = "tenantry_console";
const KEY_INFO = "tenantry console session cookie v1";

const cookieSchema = z.object({
  csrf: z.string().min(32),
  token: z.string().optional(),
  email: z.string().optional(),
});

/** What the console shows about the signed-in user, read from the token's claims. */
export interface Identity {
  email: string;
  userId: string;
  isSystemAdmin: boolean;
  tenantSlug: string | null;
  role: Role | null;
  expiresAt: number;
}

export interface ConsoleSession {
  csrf: string;
  token?: string;
  identity?: Identity;
  /** A token was present but has expired: the sign-in page says so. */
  expired: boolean;
}

const claimsSchema = z.object({
  sub: z.string(),
  exp: z.number(),
  is_system_admin: z.boolean().optional(),
  tenant_slug: z.string().nullable().optional(),
  role: z.enum(ROLES).nullable().optional(),
});

/** Reads the session cookie; a missing, forged or unreadable one starts a fresh signed-out session. */
export async function loadSession<E extends AppBindings>(c: Context<E>): Promise<ConsoleSession> {
  const secret = await cookieKey(c.get("config").MASTER_KEY);
  const raw = await getSignedCookie(c, secret, COOKIE, "host");
  const parsed = raw ? cookieSchema.safeParse(safeJson(raw)) : undefined;
  if (!parsed?.success) {
    const fresh = { csrf: newCsrfSecret(), expired: false };
    await writeSession(c, fresh);
    return fresh;
  }
  const { csrf, token, email } = parsed.data;
  if (!token) return { csrf, expired: false };
  const identity = identityOf(token, email ?? "");
  if (!identity || identity.expiresAt <= clock.now()) {
    // Keep the CSRF secret (forms already on screen stay valid) but drop the dead token.
    const signedOut = { csrf, expired: true };
    await writeSession(c, signedOut);
    return signedOut;
  }
  return { csrf, token, identity, expired: false };
}

/** A new session for a fresh sign-in: a new CSRF secret too, so nothing planted before survives. */
export async function startSession<E extends AppBindings>(
  c: Context<E>,
  token: string,
  email: string,
): Promise<Identity | undefined> {
  const identity = identityOf(token, email);
  await writeSession(c, { csrf: newCsrfSecret(), token, identity, expired: false });
  return identity;
}

export function endSession<E extends AppBindings>(c: Context<E>): void {
  deleteCookie(c, COOKIE, { prefix: "host", path: "/" });
}

async function writeSession<E extends AppBindings>(c: Context<E>, session: ConsoleSession): Promise<void> {
  const value = JSON.stringify({ csrf: session.csrf, token: session.token, email: session.identity?.email });
  const maxAge = session.identity
    ? Math.max(0, Math.floor((session.identity.expiresAt - clock.now()) / 1000))
    : undefined;
  const secret = await cookieKey(c.get("config").MASTER_KEY);
  await setSignedCookie(c, COOKIE, value, secret, {
    prefix: "host",
    path: "/",
    httpOnly: true,
    secure: true,
    sameSite: "Strict",
    ...(maxAge === undefined ? {} : { maxAge }),
  });
}

function identityOf(token: string, email: string): Identity | undefined {
  let claims: z.infer<typeof claimsSchema>;
  try {
    claims = claimsSchema.parse(decodeJwt(token));
  } catch {
    return undefined;
  }
  return {
    email,
    userId: claims.sub,
    isSystemAdmin: claims.is_system_admin === true,
    tenantSlug: claims.tenant_slug ?? null,
    role: claims.role ?? null,
    expiresAt: claims.exp * 1000,
  };
}

function newCsrfSecret(): string {
  return toBase64(crypto.getRandomValues(new Uint8Array(32)))
    .replaceAll("+", "-")
    .replaceAll("/", "_")
    .replace(/=+$/, "");
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The cookie's HMAC key, derived from MASTER_KEY so no new secret has to be configured. */
function cookieKey(masterKey: string): Promise<ArrayBuffer> {
  return masterSubkey(masterKey, KEY_INFO);
}
