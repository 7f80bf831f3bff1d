import type { Context } from "hono";
import { clientIpOf } from "../../lib/client-ip";
import { Problem } from "../../lib/problem";
import type { Handler } from "../../lib/router";
import type { Authenticated } from "../../middleware/pipeline/env";
import type { AppBindings } from "../../request-env";
import { checkAllowlistChange } from "../../services/tenancy/ip-allowlist";
import * as tenants from "../../services/tenancy/tenants";
import { auditContextOf } from "../request-context";
import type * as routes from "./tenants.routes";

const SYSTEM_FIELDS = ["plan", "quota_overrides", "features", "status"] as const;

/** What a lifecycle change needs of the request. */
function lifecycle<E extends Authenticated>(c: Context<E>): tenants.LifecycleContext {
  return {
    http: c.var.http,
    audit: auditContextOf(c),
    jobs: c.var.jobs,
    notifications: c.var.notifications,
    webhooks: c.var.webhooks,
  };
}

/** The tenant as it is after a committed change. */
function changed<E extends AppBindings>(c: Context<E>, result: { row: tenants.TenantRow }) {
  return c.json(tenants.presentTenant(result.row, c.var.config.RETENTION_DAYS), 200);
}

export const create: Handler<typeof routes.create> = async (c) => {
  const body = c.req.valid("json");
  const idempotency = c.var.idempotency;
  const created = await tenants.createTenant(
    { ...lifecycle(c), config: c.var.config },
    {
      name: body.name,
      slug: body.slug,
      plan: body.plan,
      adminEmail: body.admin_email,
      quotaOverrides: stripUndefined(body.quota_overrides),
      features: stripUndefined(body.features),
      placement: { isolation: body.isolation, region: body.region },
    },
    { retentionDays: c.var.config.RETENTION_DAYS, ...(idempotency ? { idempotency } : {}) },
  );
  return c.json(created, 201);
};

export const list: Handler<typeof routes.list> = async (c) => {
  const page = await tenants.listTenants(c.var.http, c.req.valid("query"), c.var.config.RETENTION_DAYS);
  return c.json(page, 200);
};

export const getOne: Handler<typeof routes.getOne> = async (c) => {
  const { tenant } = c.var;
  const row = await tenants.readTenant(c.var.http, tenant.id);
  return c.json(tenants.presentTenant(row, c.var.config.RETENTION_DAYS), 200);
};

export const patch: Handler<typeof routes.patch> = async (c) => {
  const { tenant, isSystemAdmin } = c.var.tenancy;
  const body = c.req.valid("json");
  const forbidden = SYSTEM_FIELDS.filter((field) => body[field] !== undefined);
  if (!isSystemAdmin && forbidden.length > 0) {
    throw new Problem("forbidden", `Only system admins may change ${forbidden.join(", ")}.`);
  }
  const allowlist = { ipAllowlist: body.ip_allowlist, ipAllowlistAppliesTo: body.ip_allowlist_applies_to };
  const checked = checkAllowlistChange(
    tenant,
    allowlist,
    { principal: c.var.principal, isSystemAdmin },
    clientIpOf(c),
    body.force === true,
  );
  const result = await tenants.patchTenant(
    lifecycle(c),
    tenant.id,
    {
      name: body.name,
      settings: body.settings,
      plan: body.plan,
      quotaOverrides: body.quota_overrides ? stripUndefined(body.quota_overrides) : undefined,
      features: body.features ? stripUndefined(body.features) : undefined,
      status: body.status,
      ...allowlist,
    },
    checked,
  );
  return changed(c, result);
};

export const suspend: Handler<typeof routes.suspend> = async (c) => {
  const { reason } = c.req.valid("json");
  return changed(c, await tenants.suspendTenant(lifecycle(c), c.req.valid("param").id, reason));
};

export const reactivate: Handler<typeof routes.reactivate> = async (c) => {
  return changed(c, await tenants.reactivateTenant(lifecycle(c), c.req.valid("param").id));
};

export const restore: Handler<typeof routes.restore> = async (c) => {
  return changed(
    c,
    await tenants.restoreTenant(lifecycle(c), c.req.valid("param").id, c.var.config.RETENTION_DAYS),
  );
};

export const remove: Handler<typeof routes.remove> = async (c) => {
  const { row } = await tenants.deleteTenant(
    lifecycle(c),
    c.req.valid("param").id,
    c.var.config.RETENTION_DAYS,
  );
  const shown = tenants.presentTenant(row, c.var.config.RETENTION_DAYS);
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

export const move: Handler<typeof routes.move> = async (c) => {
  const body = c.req.valid("json");
  const moved = await tenants.moveTenant({ ...lifecycle(c), config: c.var.config }, c.req.valid("param").id, {
    isolation: body.isolation,
    region: body.region,
  });
  return c.json(moved, 202);
};
