import type { RouteHandler } from "@hono/zod-openapi";
import type { AppBindings } from "../../env";
import { sha256Hex } from "../../lib/encoding";
import { Problem } from "../../lib/problem";
import { checkLimit, enforce, PUBLIC_POLICIES } from "../../services/rate-limit";
import * as sessions from "../../services/sessions";
import { clientIpOf, principalOf } from "../request-context";
import type * as routes from "./auth.routes";

export const login: RouteHandler<typeof routes.login, AppBindings> = async (c) => {
  const body = c.req.valid("json");
  const config = c.get("config");
  // Both limits count every attempt: one guards against spraying, the other against guessing.
  const decisions = await Promise.all([
    checkLimit(config, PUBLIC_POLICIES.loginIp, clientIpOf(c) ?? "unknown"),
    checkLimit(config, PUBLIC_POLICIES.loginEmail, await sha256Hex(body.email.toLowerCase())),
  ]);
  for (const decision of decisions) enforce(decision);
  const session = await sessions.login(c.get("http"), config, body);
  return c.json(session, 200);
};

export const switchTenant: RouteHandler<typeof routes.switchTenant, AppBindings> = async (c) => {
  const principal = principalOf(c);
  if (principal.kind !== "user")
    throw new Problem("forbidden", "API keys belong to one tenant and cannot switch.");
  const session = await sessions.switchTenant(
    c.get("http"),
    c.get("config"),
    principal.userId,
    c.req.valid("json").tenant,
  );
  return c.json(session, 200);
};
