import type { Handler } from "../../lib/router";
import * as apiKeys from "../../services/access/api-keys";
import { userIdOf, writeContextOf } from "../request-context";
import type * as routes from "./api-keys.routes";

export const create: Handler<typeof routes.create> = async (c) => {
  const body = c.req.valid("json");
  const created = await apiKeys.createApiKey(writeContextOf(c), {
    name: body.name,
    role: body.role,
    expiresAt: body.expires_at ? new Date(body.expires_at) : null,
    createdBy: userIdOf(c),
    rateLimitPerHour: body.rate_limit_per_hour,
  });
  return c.json(created, 201);
};

export const list: Handler<typeof routes.list> = async (c) =>
  c.json(await apiKeys.listApiKeys(c.var.http, c.var.tenant.id, c.req.valid("query")), 200);

export const remove: Handler<typeof routes.remove> = async (c) => {
  await apiKeys.revokeApiKey(writeContextOf(c), c.req.valid("param").id);
  return c.body(null, 204);
};

export const rotate: Handler<typeof routes.rotate> = async (c) => {
  const body = c.req.valid("json") ?? { grace_period_seconds: 0 };
  const rotated = await apiKeys.rotateApiKey(writeContextOf(c), {
    id: c.req.valid("param").id,
    gracePeriodSeconds: body.grace_period_seconds,
  });
  return c.json(rotated, 200);
};
