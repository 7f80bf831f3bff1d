import type { RouteHandler } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AppBindings } from "../../env";
import type { Principal } from "../../services/principal";
import * as sessions from "../../services/sessions";
import { auditContextOf, passwordCheckContext, principalOf } from "../request-context";
import type * as routes from "./auth.routes";

export const login: RouteHandler<typeof routes.login, AppBindings> = async (c) => {
  const session = await sessions.login(passwordCheckContext(c), c.req.valid("json"));
  return c.json(session, 200);
};

export const switchTenant: RouteHandler<typeof routes.switchTenant, AppBindings> = async (c) => {
  const user = userPrincipalOf(c);
  const session = await sessions.switchTenant(
    c.get("http"),
    c.get("config"),
    user.userId,
    c.req.valid("json").tenant,
  );
  return c.json(session, 200);
};

export const changePassword: RouteHandler<typeof routes.changePassword, AppBindings> = async (c) => {
  const user = userPrincipalOf(c);
  await sessions.changePassword(passwordCheckContext(c), auditContextOf(c), user.userId, c.req.valid("json"));
  return c.body(null, 204);
};

export const logoutAll: RouteHandler<typeof routes.logoutAll, AppBindings> = async (c) => {
  const user = userPrincipalOf(c);
  await sessions.logoutEverywhere(c.get("http"), auditContextOf(c), user.userId);
  return c.body(null, 204);
};

/** The guard admits only users to `kind: "user"` routes; this narrows the type. */
function userPrincipalOf(c: Context<AppBindings>): Principal & { kind: "user" } {
  const principal = principalOf(c);
  if (principal.kind !== "user") throw new Error(`${c.req.routePath} must be declared kind "user"`);
  return principal;
}
