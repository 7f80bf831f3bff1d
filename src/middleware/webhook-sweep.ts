/**
 * After a tenant-scoped write of a tenant with an enabled webhook endpoint: its new webhook
 * deliveries go to the queue, and a create refused for a quota becomes a `quota.exceeded`
 * event (src/webhooks/dispatch.ts). Reads write no deliveries; a failed write rolled back
 * whatever it wrote, so only the quota refusal is worth a trip; and a tenant without endpoints
 * (as the cached tenant record says) has nothing to send, so its writes cost no extra trip.
 * A tenant whose first endpoint another isolate has not heard of yet (the record's TTL) has
 * its deliveries queued by the reconcile cron.
 */
import { createMiddleware } from "hono/factory";
import { Problem } from "../lib/problem";
import type { AppBindings } from "../request-env";
import { READ_METHODS } from "./pipeline/resolve-tenant";

export const webhookSweep = () =>
  createMiddleware<AppBindings>(async (c, next) => {
    await next();
    const { tenantId, tenantHasWebhooks, tenantData } = c.var.record;
    if (tenantId === null || !tenantHasWebhooks || READ_METHODS.has(c.req.method)) return;
    const problem = c.error instanceof Problem ? c.error : undefined;
    if (problem?.code === "quota_exceeded")
      c.var.webhooks.quotaExceeded(tenantId, problem.extensions, tenantData);
    else if (c.res.status < 400) c.var.webhooks.tenantChanged(tenantId, tenantData);
  });
