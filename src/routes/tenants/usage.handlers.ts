import type { RouteHandler } from "@hono/zod-openapi";
import type { AppBindings } from "../../env";
import { tenantUsage } from "../../services/usage";
import { tenancyOf } from "../request-context";
import type * as routes from "./usage.routes";

export const usage: RouteHandler<typeof routes.usage, AppBindings> = async (c) => {
  const { tenant } = tenancyOf(c);
  return c.json(await tenantUsage(c.get("http"), c.get("config"), tenant), 200);
};
