import type { RouteHandler } from "@hono/zod-openapi";
import type { AppBindings } from "../../env";
import { listProvisioningJobs } from "../../services/provisioning";
import { tenancyOf } from "../request-context";
import type * as routes from "./provisioning.routes";

export const list: RouteHandler<typeof routes.list, AppBindings> = async (c) =>
  c.json(await listProvisioningJobs(c.get("http"), tenancyOf(c).tenant, c.req.valid("query")), 200);
