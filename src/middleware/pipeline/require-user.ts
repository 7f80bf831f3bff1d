import { createMiddleware } from "hono/factory";
import { Problem } from "../../lib/problem";
import { loadCurrentUser } from "../../services/access/user-access";
import type { Authenticated, SignedInUser } from "./env";

/**
 * A signed-in user (an API key has no account: 403), still current in the users table (a
 * revoked token or a deleted user is refused); for `system`, a system admin.
 */
export const requireUser = (kind: "user" | "system") =>
  createMiddleware<SignedInUser>(async (c, next) => {
    const principal = c.var.principal;
    if (principal.kind === "api_key") {
      throw new Problem(
        "forbidden",
        kind === "system"
          ? "API keys cannot act as a system admin."
          : "This route is for users: an API key has no account.",
      );
    }
    const user = await loadCurrentUser(c.var.http, principal, null);
    if (kind === "system" && !user.isSystemAdmin)
      throw new Problem("forbidden", "This route is for system admins.");
    c.set("user", principal);
    await next();
  });

/** Any caller; a user's token is still checked against the users table (an API key was checked as it was verified). */
export const requireCurrentCredential = () =>
  createMiddleware<Authenticated>(async (c, next) => {
    const principal = c.var.principal;
    if (principal.kind === "user") await loadCurrentUser(c.var.http, principal, null);
    await next();
  });
