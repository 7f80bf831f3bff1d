import type { RouteHandler } from "@hono/zod-openapi";
import { batchAsTenant, withTenant } from "../../db/client";
import type { AppBindings } from "../../env";
import { toPage } from "../../lib/pagination";
import * as apiKeys from "../../services/api-keys";
import { auditContextOf, tenancyOf, userIdOf } from "../request-context";
import type * as routes from "./api-keys.routes";

export const create: RouteHandler<typeof routes.create, AppBindings> = async (c) => {
  const { tenant } = tenancyOf(c);
  const body = c.req.valid("json");
  const created = await withTenant(c.get("db"), tenant.id, (tx) =>
    apiKeys.createApiKey(tx, auditContextOf(c), {
      tenant,
      name: body.name,
      role: body.role,
      expiresAt: body.expires_at ? new Date(body.expires_at) : null,
      createdBy: userIdOf(c),
      rateLimitPerHour: body.rate_limit_per_hour,
    }),
  );
  return c.json(created, 201);
};

export const list: RouteHandler<typeof routes.list, AppBindings> = async (c) => {
  const { tenant } = tenancyOf(c);
  const query = c.req.valid("query");
  const rows = await batchAsTenant(c.get("http"), tenant.id, (db) =>
    apiKeys.apiKeysQuery(db, tenant.id, query),
  );
  return c.json(toPage(rows, query.limit, apiKeys.presentApiKey), 200);
};

export const remove: RouteHandler<typeof routes.remove, AppBindings> = async (c) => {
  const { tenant } = tenancyOf(c);
  await withTenant(c.get("db"), tenant.id, (tx) =>
    apiKeys.revokeApiKey(tx, auditContextOf(c), tenant.id, c.req.valid("param").id),
  );
  return c.body(null, 204);
};

export const rotate: RouteHandler<typeof routes.rotate, AppBindings> = async (c) => {
  const { tenant } = tenancyOf(c);
  const body = c.req.valid("json") ?? { grace_period_seconds: 0 };
  const rotated = await withTenant(c.get("db"), tenant.id, (tx) =>
    apiKeys.rotateApiKey(tx, auditContextOf(c), {
      tenantId: tenant.id,
      slug: tenant.slug,
      id: c.req.valid("param").id,
      gracePeriodSeconds: body.grace_period_seconds,
    }),
  );
  return c.json(rotated, 200);
};
