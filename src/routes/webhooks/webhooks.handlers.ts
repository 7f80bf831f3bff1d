import type { Context } from "hono";
import type { Handler } from "../../lib/router";
import type { TenantScoped } from "../../middleware/pipeline/env";
import { forgetTenant } from "../../services/tenancy/tenant-directory";
import { listDeliveries, replayDelivery, sendTestEvent } from "../../webhooks/deliveries";
import * as endpoints from "../../webhooks/endpoints";
import { writeContextOf } from "../request-context";
import type * as routes from "./webhooks.routes";

/**
 * After a change to the tenant's endpoints: whether it has an enabled one is part of the cached
 * tenant record, so this isolate reloads it, and the change's own events (its audit record's)
 * are sent now rather than by the reconcile cron.
 */
async function endpointsChanged<E extends TenantScoped>(c: Context<E>): Promise<void> {
  // A dedicated tenant's flag in the control database follows (one more trip, for it only).
  if (c.var.data !== c.var.http) await endpoints.syncWebhookFlag(c.var.http, c.var.data, c.var.tenant.id);
  forgetTenant(c.var.tenant);
  // In the tenant's own database: the sweep after the response would find this one taken.
  c.var.webhooks.tenantChanged(c.var.tenant.id, c.var.data);
}

export const create: Handler<typeof routes.create> = async (c) => {
  const created = await endpoints.createEndpoint(writeContextOf(c), c.req.valid("json"));
  await endpointsChanged(c);
  // The signing secret is in this answer only: keep it out of every cache.
  c.header("Cache-Control", "no-store");
  return c.json(created, 201);
};

export const list: Handler<typeof routes.list> = async (c) =>
  c.json(await endpoints.listEndpoints(c.var.data, c.var.tenant.id, c.req.valid("query")), 200);

export const getOne: Handler<typeof routes.getOne> = async (c) =>
  c.json(await endpoints.getEndpoint(c.var.data, c.var.tenant.id, c.req.valid("param").id), 200);

export const patch: Handler<typeof routes.patch> = async (c) => {
  const updated = await endpoints.updateEndpoint(
    writeContextOf(c),
    c.req.valid("param").id,
    c.req.valid("json"),
  );
  await endpointsChanged(c);
  return c.json(updated, 200);
};

export const remove: Handler<typeof routes.remove> = async (c) => {
  await endpoints.deleteEndpoint(writeContextOf(c), c.req.valid("param").id);
  await endpointsChanged(c);
  return c.body(null, 204);
};

export const rotateSecret: Handler<typeof routes.rotateSecret> = async (c) => {
  const rotated = await endpoints.rotateSecret(writeContextOf(c), c.req.valid("param").id);
  c.header("Cache-Control", "no-store");
  return c.json(rotated, 200);
};

export const sendTest: Handler<typeof routes.sendTest> = async (c) =>
  c.json(await sendTestEvent(writeContextOf(c), c.env.WEBHOOK_QUEUE, c.req.valid("param").id), 202);

export const deliveries: Handler<typeof routes.deliveries> = async (c) =>
  c.json(
    await listDeliveries(c.var.data, c.var.tenant.id, c.req.valid("param").id, c.req.valid("query")),
    200,
  );

export const replay: Handler<typeof routes.replay> = async (c) => {
  const { id, deliveryId } = c.req.valid("param");
  return c.json(await replayDelivery(writeContextOf(c), c.env.WEBHOOK_QUEUE, id, deliveryId), 202);
};
