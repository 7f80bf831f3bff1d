import type { Handler } from "../../lib/router";
import { listAuditEvents } from "../../services/tenancy/audit-events";
import type * as routes from "./audit-events.routes";

export const list: Handler<typeof routes.list> = async (c) =>
  c.json(await listAuditEvents(c.var, c.var.tenant.id, c.req.valid("query")), 200);
