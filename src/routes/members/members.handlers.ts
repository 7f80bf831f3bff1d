import type { RouteHandler } from "@hono/zod-openapi";
import { withTenant } from "../../db/client";
import type { AppBindings } from "../../env";
import { Problem } from "../../lib/problem";
import { changeRole, listMembers, removeMember } from "../../services/members";
import { auditContextOf, tenancyOf } from "../request-context";
import type * as routes from "./members.routes";

export const list: RouteHandler<typeof routes.list, AppBindings> = async (c) => {
  const { tenant } = tenancyOf(c);
  const page = await withTenant(c.get("db"), tenant.id, (tx) =>
    listMembers(tx, tenant.id, c.req.valid("query")),
  );
  return c.json(page, 200);
};

export const patch: RouteHandler<typeof routes.patch, AppBindings> = async (c) => {
  const { tenant } = tenancyOf(c);
  const member = await withTenant(c.get("db"), tenant.id, (tx) =>
    changeRole(tx, auditContextOf(c), tenant.id, c.req.valid("param").userId, c.req.valid("json").role),
  );
  if (!member) throw new Problem("not_found", "No such member.");
  return c.json(member, 200);
};

export const remove: RouteHandler<typeof routes.remove, AppBindings> = async (c) => {
  const { tenant } = tenancyOf(c);
  await withTenant(c.get("db"), tenant.id, (tx) =>
    removeMember(tx, auditContextOf(c), tenant.id, c.req.valid("param").userId),
  );
  return c.body(null, 204);
};
