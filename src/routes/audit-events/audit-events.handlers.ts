import type { RouteHandler } from "@hono/zod-openapi";
import type { AppBindings } from "../../env";
import { listAuditEvents } from "../../services/audit-events";
import { tenancyOf } from "../request-context";
import type * as routes from "./audit-events.routes";

export const list: RouteHandler<typeof routes.list, AppBindings> = async (c) =>
  c.json(await listAuditEvents(c.get("http"), tenancyOf(c).tenant.id, c.req.valid("query")), 200);
