import type { Handler } from "../../lib/router";
import { listProvisioningJobs } from "../../services/tenancy/provisioning";
import type * as routes from "./provisioning.routes";

export const list: Handler<typeof routes.list> = async (c) =>
  c.json(await listProvisioningJobs(c.var.http, c.var.tenant, c.req.valid("query")), 200);
