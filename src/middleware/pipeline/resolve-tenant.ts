import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { tenantDatabase } from "../../databases/routing";
import { Problem } from "../../lib/problem";
import { pathSelectorOf } from "../../lib/tenant-path";
import { roleAtLeast } from "../../services/access/principal";
import { effectiveFeatures, type Feature } from "../../services/tenancy/plans";
import { resolveTenant as decideTenant, subdomainOf } from "../../services/tenancy/tenant-resolution";
import type { TenantAccess } from "./access";
import type { Authenticated, TenantScoped } from "./env";

export const READ_METHODS = new Set(["GET", "HEAD"]);
/** A small move takes seconds; a client told to wait this long rarely finds it still moving. */
const MOVE_RETRY_AFTER_S = 30;

/**
 * The tenant of the request by the tenancy rules (`services/tenancy/tenant-resolution.ts`): the
 * selectors (subdomain, `X-Tenant-ID`, a `/t/{tenant}` prefix, the route's own path or query
 * parameter) must agree with each other and with the credential.
 */
export const resolveTenant = (access: TenantAccess) =>
  createMiddleware<TenantScoped>(async (c, next) => {
    const decision = await decideTenant(c.var.http, c.var.principal, selectorsOf(c, access), {
      readOnly: READ_METHODS.has(c.req.method) || access.allowSuspended === true,
      systemSeesDeleted: access.systemSeesDeleted,
    });
    const { tenant } = decision;
    if (tenant.moveId !== null && !READ_METHODS.has(c.req.method)) {
      throw new Problem(
        "tenant_moving",
        "This tenant is moving between databases and is read-only until the move has finished; try again shortly.",
        { headers: { "Retry-After": String(MOVE_RETRY_AFTER_S) } },
      );
    }
    c.set("tenancy", decision);
    c.set("tenant", tenant);
    c.set("data", await tenantDatabase(c.var.config, c.var.http, tenant));
    c.var.record.tenantId = tenant.id;
    c.var.record.tenantHasWebhooks = tenant.hasWebhooks;
    c.var.record.tenantData = c.var.data;
    await next();
  });

/** At least `role` in the tenant; a system admin acts in any tenant. */
export const requireRole = (role: TenantAccess["role"]) =>
  createMiddleware<TenantScoped>(async (c, next) => {
    const { role: held, isSystemAdmin } = c.var.tenancy;
    if (!isSystemAdmin && !roleAtLeast(held, role)) {
      throw new Problem("forbidden", `This route needs the ${role} role in the tenant.`);
    }
    await next();
  });

/** The plan feature the route belongs to is on for the tenant (403 `feature_disabled`). */
export const requireFeature = (feature: Feature) =>
  createMiddleware<TenantScoped>(async (c, next) => {
    if (!effectiveFeatures(c.var.tenant)[feature]) {
      throw new Problem("feature_disabled", `The "${feature}" feature is not enabled for this tenant.`, {
        extensions: { feature },
      });
    }
    await next();
  });

function selectorsOf<E extends Authenticated>(c: Context<E>, access: TenantAccess) {
  const host = new URL(c.req.url).host;
  const explicit = access.tenantParam
    ? c.req.param(access.tenantParam)
    : access.tenantQuery
      ? c.req.query(access.tenantQuery)
      : undefined;
  return {
    subdomain: subdomainOf(host, c.var.config.BASE_DOMAIN),
    header: c.req.header("x-tenant-id"),
    path: explicit,
    prefix: pathSelectorOf(c),
  };
}
