import { createMiddleware } from "hono/factory";
import { routePath } from "hono/route";
import { clientIpOf } from "../../lib/client-ip";
import { admits, gates, notAllowed, recordRefusal } from "../../services/tenancy/ip-allowlist";
import type { TenantScoped } from "./env";

/**
 * The tenant's IP allowlist, as soon as the tenant is known (before the role, the feature and
 * the rate limit, so a refused caller spends none of the tenant's budget). A request it gates
 * from an address off the list, or with no address at all (fail closed), is 403
 * `ip_not_allowed`; the refusal is audited and logged after the response, at most once per
 * tenant and address a minute (`services/tenancy/ip-allowlist.ts`). The list travels with the
 * tenant record, so checking it costs no trip.
 */
export const requireAllowedAddress = () =>
  createMiddleware<TenantScoped>(async (c, next) => {
    const { tenant, tenancy, principal } = c.var;
    if (!gates(tenant, { principal, isSystemAdmin: tenancy.isSystemAdmin })) return next();
    const ip = clientIpOf(c);
    if (admits(tenant.ipAllowlist, ip)) return next();
    const context = {
      http: c.var.http,
      config: c.var.config,
      audit: { principal, requestId: c.var.requestId, ip },
    };
    const meta = { applies_to: tenant.ipAllowlistAppliesTo, route: `${c.req.method} ${routePath(c, -1)}` };
    c.var.background(() => recordRefusal(context, tenant.id, meta));
    throw notAllowed(ip);
  });
