import type { Handler } from "../../lib/router";
import { tenantUsage } from "../../services/tenancy/usage";
import type * as routes from "./usage.routes";

export const usage: Handler<typeof routes.usage> = async (c) => {
  const { tenant } = c.var;
  return c.json(await tenantUsage(c.var.http, c.var.config, tenant), 200);
};
