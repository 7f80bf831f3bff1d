import type { Handler } from "../../lib/router";
import { changeRole, membersPage, removeMember } from "../../services/access/members";
import { writeContextOf } from "../request-context";
import type * as routes from "./members.routes";

export const list: Handler<typeof routes.list> = async (c) => {
  const { tenant } = c.var;
  return c.json(await membersPage(c.var.http, tenant.id, c.req.valid("query")), 200);
};

export const patch: Handler<typeof routes.patch> = async (c) => {
  const { userId } = c.req.valid("param");
  return c.json(await changeRole(writeContextOf(c), userId, c.req.valid("json").role), 200);
};

export const remove: Handler<typeof routes.remove> = async (c) => {
  await removeMember(writeContextOf(c), c.req.valid("param").userId);
  return c.body(null, 204);
};
