import type { RouteHandler } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AppBindings } from "../../env";
import { dispatchJobs } from "../../jobs/producer";
import { Problem } from "../../lib/problem";
import * as tenants from "../../services/tenants";
import { auditContextOf, tenancyOf } from "../request-context";
import type * as routes from "./tenants.routes";

const SYSTEM_FIELDS = ["plan", "quota_overrides", "features", "status"] as const;

/** After a committed change: send its jobs (off the response path) and answer the tenant. */
function changed(c: Context<AppBindings>, result: { row: tenants.TenantRow; jobs: Array<{ id: string }> }) {
  dispatchJobs(c, result.jobs);
  return c.json(tenants.presentTenant(result.row, c.get("config").RETENTION_DAYS), 200);
}

export const create: RouteHandler<typeof routes.create, AppBindings> = async (c) => {
  const body = c.req.valid("json");
  const idempotency = c.get("idempotency");
  const created = await tenants.createTenant(
    c.get("http"),
    auditContextOf(c),
    {
      name: body.name,
      slug: body.slug,
      plan: body.plan,
      adminEmail: body.admin_email,
      quotaOverrides: stripUndefined(body.quota_overrides),
      features: stripUndefined(body.features),
    },
    { retentionDays: c.get("config").RETENTION_DAYS, ...(idempotency ? { idempotency } : {}) },
  );
  dispatchJobs(c, [created.provisioning_job]);
  return c.json(created, 201);
};

export const list: RouteHandler<typeof routes.list, AppBindings> = async (c) => {
  const page = await tenants.listTenants(c.get("http"), c.req.valid("query"), c.get("config").RETENTION_DAYS);
  return c.json(page, 200);
};

export const getOne: RouteHandler<typeof routes.getOne, AppBindings> = async (c) => {
  const { tenant } = tenancyOf(c);
  const row = await tenants.readTenant(c.get("http"), tenant.id);
  return c.json(tenants.presentTenant(row, c.get("config").RETENTION_DAYS), 200);
};

export const patch: RouteHandler<typeof routes.patch, AppBindings> = async (c) => {
  const { tenant, isSystemAdmin } = tenancyOf(c);
  const body = c.req.valid("json");
  const forbidden = SYSTEM_FIELDS.filter((field) => body[field] !== undefined);
  if (!isSystemAdmin && forbidden.length > 0) {
    throw new Problem("forbidden", `Only system admins may change ${forbidden.join(", ")}.`);
  }
  const result = await tenants.patchTenant(c.get("http"), auditContextOf(c), tenant.id, {
    name: body.name,
    settings: body.settings,
    plan: body.plan,
    quotaOverrides: body.quota_overrides ? stripUndefined(body.quota_overrides) : undefined,
    features: body.features ? stripUndefined(body.features) : undefined,
    status: body.status,
  });
  return changed(c, result);
};

export const suspend: RouteHandler<typeof routes.suspend, AppBindings> = async (c) => {
  const { reason } = c.req.valid("json");
  return changed(
    c,
    await tenants.suspendTenant(c.get("http"), auditContextOf(c), c.req.valid("param").id, reason),
  );
};

export const reactivate: RouteHandler<typeof routes.reactivate, AppBindings> = async (c) => {
  return changed(
    c,
    await tenants.reactivateTenant(c.get("http"), auditContextOf(c), c.req.valid("param").id),
  );
};

export const restore: RouteHandler<typeof routes.restore, AppBindings> = async (c) => {
  return changed(
    c,
    await tenants.restoreTenant(
      c.get("http"),
      auditContextOf(c),
      c.req.valid("param").id,
      c.get("config").RETENTION_DAYS,
    ),
  );
};

export const remove: RouteHandler<typeof routes.remove, AppBindings> = async (c) => {
  const { row } = await tenants.deleteTenant(c.get("http"), auditContextOf(c), c.req.valid("param").id);
  const shown = tenants.presentTenant(row, c.get("config").RETENTION_DAYS);
  return c.json(
    {
      id: shown.id,
      status: "deleted" as const,
      deleted_at: shown.deleted_at as string,
      purge_after: shown.purge_after as string,
    },
    202,
  );
};

function stripUndefined<T extends object>(
  value: T | undefined,
): Record<string, Exclude<T[keyof T], undefined>> {
  return Object.fromEntries(Object.entries(value ?? {}).filter(([, v]) => v !== undefined)) as Record<
    string,
    Exclude<T[keyof T], undefined>
  >;
}
