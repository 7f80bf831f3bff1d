import type { RouteHandler } from "@hono/zod-openapi";
import { withTenant } from "../../db/client";
import type { AppBindings } from "../../env";
import { listMembers } from "../../services/members";
import { tenancyOf } from "../request-context";
import type * as routes from "./members.routes";

export const list: RouteHandler<typeof routes.list, AppBindings> = async (c) => {
  const { tenant } = tenancyOf(c);
  const page = await withTenant(c.get("db"), tenant.id, (tx) =>
    listMembers(tx, tenant.id, c.req.valid("query")),
  );
  return c.json(page, 200);
};
