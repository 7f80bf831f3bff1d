import type { RouteHandler } from "@hono/zod-openapi";
import { withTenant } from "../../db/client";
import type { AppBindings } from "../../env";
import { listProvisioningJobs } from "../../services/provisioning";
import { tenancyOf } from "../request-context";
import type * as routes from "./provisioning.routes";

export const list: RouteHandler<typeof routes.list, AppBindings> = async (c) => {
  const { tenant } = tenancyOf(c);
  const page = await withTenant(c.get("db"), tenant.id, (tx) =>
    listProvisioningJobs(tx, tenant, c.req.valid("query")),
  );
  return c.json(page, 200);
};
