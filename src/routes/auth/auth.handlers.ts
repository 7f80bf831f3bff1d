import type { RouteHandler } from "@hono/zod-openapi";
import type { AppBindings } from "../../env";
import { Problem } from "../../lib/problem";
import * as sessions from "../../services/sessions";
import { principalOf } from "../request-context";
import type * as routes from "./auth.routes";

export const login: RouteHandler<typeof routes.login, AppBindings> = async (c) => {
  const session = await sessions.login(c.get("db"), c.get("config"), c.req.valid("json"));
  return c.json(session, 200);
};

export const switchTenant: RouteHandler<typeof routes.switchTenant, AppBindings> = async (c) => {
  const principal = principalOf(c);
  if (principal.kind !== "user")
    throw new Problem("forbidden", "API keys belong to one tenant and cannot switch.");
  const session = await sessions.switchTenant(
    c.get("db"),
    c.get("config"),
    principal.userId,
    c.req.valid("json").tenant,
  );
  return c.json(session, 200);
};
