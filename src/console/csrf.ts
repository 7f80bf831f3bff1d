/**
 * Every console POST must carry the session's CSRF secret as `_csrf` (a synchronizer token:
 * the secret lives in the signed, HttpOnly session cookie and is rendered into each form).
 * SameSite=Strict already keeps the cookie off cross-site posts; this check does not rely on it.
 * A post the browser itself marks cross-site is refused before the body is even read.
 */
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { constantTimeEqual, utf8 } from "../lib/encoding";
import type { ConsoleEnv } from "./console-env";

export const CSRF_FIELD = "_csrf";

export const verifyCsrf = (onFailure: (c: Context<ConsoleEnv>) => Response | Promise<Response>) =>
  createMiddleware<ConsoleEnv>(async (c, next) => {
    if (c.req.method !== "POST") return next();
    if (c.req.header("sec-fetch-site") === "cross-site") return onFailure(c);
    const form = await formOf(c);
    const sent = form[CSRF_FIELD] ?? "";
    if (!constantTimeEqual(utf8(sent), utf8(c.get("session").csrf))) return onFailure(c);
    await next();
  });

/** The posted form as plain strings (files and repeated fields are not part of any console form). */
export async function formOf(c: Context<ConsoleEnv>): Promise<Record<string, string>> {
  const body = await c.req.parseBody();
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(body)) if (typeof value === "string") out[name] = value;
  return out;
}
