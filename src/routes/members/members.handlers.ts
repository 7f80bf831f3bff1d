import type { RouteHandler } from "@hono/zod-openapi";
import type { AppBindings } from "../../env";
import { changeRole, membersPage, removeMember } from "../../services/members";
import { tenancyOf, writeContextOf } from "../request-context";
import type * as routes from "./members.routes";

export const list: RouteHandler<typeof routes.list, AppBindings> = async (c) => {
  const { tenant } = tenancyOf(c);
  return c.json(await membersPage(c.get("http"), tenant.id, c.req.valid("query")), 200);
};

export const patch: RouteHandler<typeof routes.patch, AppBindings> = async (c) => {
  const { userId } = c.req.valid("param");
  return c.json(await changeRole(writeContextOf(c), userId, c.req.valid("json").role), 200);
};

export const remove: RouteHandler<typeof routes.remove, AppBindings> = async (c) => {
  await removeMember(writeContextOf(c), c.req.valid("param").userId);
  return c.body(null, 204);
};
