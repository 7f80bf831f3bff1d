import type { Handler } from "../../lib/router";
import * as sessions from "../../services/access/sessions";
import { auditContextOf } from "../request-context";
import type * as routes from "./auth.routes";

export const login: Handler<typeof routes.login> = async (c) => {
  const session = await sessions.login(c.var.passwords, c.req.valid("json"));
  return c.json(session, 200);
};

export const switchTenant: Handler<typeof routes.switchTenant> = async (c) => {
  const { http, config, user } = c.var;
  const session = await sessions.switchTenant(http, config, user.userId, c.req.valid("json").tenant);
  return c.json(session, 200);
};

export const changePassword: Handler<typeof routes.changePassword> = async (c) => {
  const { passwords, user } = c.var;
  await sessions.changePassword(passwords, auditContextOf(c), user.userId, c.req.valid("json"));
  return c.body(null, 204);
};

export const logoutAll: Handler<typeof routes.logoutAll> = async (c) => {
  await sessions.logoutEverywhere(c.var.http, auditContextOf(c), c.var.user.userId);
  return c.body(null, 204);
};
