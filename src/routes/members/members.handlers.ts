import type { RouteHandler } from "@hono/zod-openapi";
import { batchAsTenant, withTenant } from "../../db/client";
import type { AppBindings } from "../../env";
import { toPage } from "../../lib/pagination";
import { Problem } from "../../lib/problem";
import { changeRole, membersQuery, presentMember, removeMember } from "../../services/members";
import { auditContextOf, tenancyOf } from "../request-context";
import type * as routes from "./members.routes";

export const list: RouteHandler<typeof routes.list, AppBindings> = async (c) => {
  const { tenant } = tenancyOf(c);
  const query = c.req.valid("query");
  const rows = await batchAsTenant(c.get("http"), tenant.id, (db) => membersQuery(db, tenant.id, query));
  return c.json(toPage(rows, query.limit, presentMember), 200);
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
