import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { meteredClientOf } from "../../lib/client-ip";
import { constantTimeEqual, utf8 } from "../../lib/encoding";
import { Problem } from "../../lib/problem";
import type { AppBindings } from "../../request-env";
import { touchLastUsed } from "../../services/access/api-keys";
import {
  bearerToken,
  unauthenticated,
  authenticate as verifyCredential,
} from "../../services/access/authenticate";
import { actorLabel, type Principal } from "../../services/access/principal";
import { countCredentialFailure, refuseBlockedAddress } from "../../services/platform/rate-limit";
import type { Authenticated } from "./env";

/**
 * Who is calling: a user's token or an API key, else 401. An address that has sent too many
 * bad credentials is refused before its credential is looked at, and a bad one counts
 * against it. A temporary password's token is refused (403) unless the route exempts it.
 */
export const authenticate = (options: { passwordChangeExempt: boolean }) =>
  createMiddleware<Authenticated>(async (c, next) => {
    const principal = await verifyMetered(c);
    if (!principal) throw unauthenticated();
    if (principal.kind === "user" && principal.mustChangePassword && !options.passwordChangeExempt) {
      throw new Problem(
        "password_change_required",
        "This token was issued for a temporary password: change it with POST /api/v1/auth/password, then sign in again.",
      );
    }
    c.set("principal", principal);
    c.var.record.actor = actorLabel(principal);
    if (principal.kind === "api_key") c.var.background(() => touchLastUsed(c.var.http, principal));
    await next();
  });

/** Failed credentials are metered per client address (without one there is nothing to meter). */
async function verifyMetered<E extends AppBindings>(c: Context<E>): Promise<Principal | undefined> {
  const ip = meteredClientOf(c);
  if (ip) refuseBlockedAddress(ip);
  try {
    return await verifyCredential(c.var.http, c.var.config, {
      authorization: c.req.header("authorization"),
      apiKey: c.req.header("x-api-key"),
    });
  } catch (err) {
    if (ip && err instanceof Problem && err.code === "invalid_token") {
      await countCredentialFailure(c.var.config, ip);
    }
    throw err;
  }
}

/** Prometheus' `Authorization: Bearer <METRICS_TOKEN>`, compared in constant time. */
export function presentsMetricsToken<E extends AppBindings>(c: Context<E>): boolean {
  const expected = c.var.config.METRICS_TOKEN;
  const offered = bearerToken(c.req.header("authorization"));
  return expected !== undefined && offered !== undefined && constantTimeEqual(utf8(offered), utf8(expected));
}
