import type { RouteHandler } from "@hono/zod-openapi";
import { batchAsTenant } from "../../db/client";
import type { AppBindings } from "../../env";
import { toPage } from "../../lib/pagination";
import { auditEventsQuery, presentAuditEvent } from "../../services/audit-events";
import { tenancyOf } from "../request-context";
import type * as routes from "./audit-events.routes";

export const list: RouteHandler<typeof routes.list, AppBindings> = async (c) => {
  const { tenant } = tenancyOf(c);
  const query = c.req.valid("query");
  const rows = await batchAsTenant(c.get("http"), tenant.id, (db) => auditEventsQuery(db, tenant.id, query));
  return c.json(toPage(rows, query.limit, presentAuditEvent), 200);
};
