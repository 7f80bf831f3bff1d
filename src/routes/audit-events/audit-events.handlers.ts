import type { RouteHandler } from "@hono/zod-openapi";
import { withTenant } from "../../db/client";
import type { AppBindings } from "../../env";
import { listAuditEvents } from "../../services/audit-events";
import { tenancyOf } from "../request-context";
import type * as routes from "./audit-events.routes";

export const list: RouteHandler<typeof routes.list, AppBindings> = async (c) => {
  const { tenant } = tenancyOf(c);
  const page = await withTenant(c.get("db"), tenant.id, (tx) =>
    listAuditEvents(tx, tenant.id, c.req.valid("query")),
  );
  return c.json(page, 200);
};
