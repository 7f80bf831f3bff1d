import { createMiddleware } from "hono/factory";
import { meteredClientOf } from "../../lib/client-ip";
import type { AppBindings } from "../../request-env";
import {
  apiKeyPolicy,
  checkLimit,
  enforce,
  enforceAll,
  type LimitDecision,
  PUBLIC_POLICIES,
  rateLimitHeaders,
  tenantPolicy,
} from "../../services/platform/rate-limit";
import { effectiveQuotas } from "../../services/tenancy/plans";
import type { TenantAccess } from "./access";
import type { PasswordChecked, TenantScoped } from "./env";
import { READ_METHODS } from "./resolve-tenant";

/**
 * The tenant's hourly budget, plus the key's own when an API key has one; their headers go
 * on every tenant-scoped response. Both are counted before either is enforced, so a 429
 * names every policy it came close to. Operators are not metered against the tenant's
 * budget: a system admin must be able to act on (and lift the limit of) a tenant that has
 * spent its hourly calls.
 *
 * Reads that write nothing overlap the limiter with their query, costing max(Postgres,
 * Redis) rather than the sum; a refusal replaces whatever the read produced. Writes, and
 * reads that write an audit record (`audited`), are limited before they run, so a refusal
 * writes nothing.
 */
export const limitTenant = (access: TenantAccess) =>
  createMiddleware<TenantScoped>(async (c, next) => {
    if (c.var.tenancy.isSystemAdmin) return next();
    const { tenant, principal, config } = c.var;
    const checks = [
      checkLimit(config, tenantPolicy(effectiveQuotas(tenant).api_calls_per_hour), `tenant:${tenant.id}`),
    ];
    if (principal.kind === "api_key" && principal.rateLimitPerHour !== null) {
      checks.push(checkLimit(config, apiKeyPolicy(principal.rateLimitPerHour), `key:${principal.keyId}`));
    }
    const limiting = Promise.all(checks).then((decisions: LimitDecision[]) => {
      c.var.record.rateLimits.push(...decisions);
      enforceAll(decisions);
    });
    if (READ_METHODS.has(c.req.method) && access.audited !== true) {
      const [limited] = await Promise.allSettled([limiting, next()]);
      if (limited.status === "rejected") throw limited.reason;
    } else {
      await limiting;
      await next();
    }
    for (const [name, value] of Object.entries(rateLimitHeaders(c.var.record.rateLimits)))
      c.header(name, value);
  });

/**
 * A route that proves a password gets where the check runs: the client address for the
 * login budgets (`services/access/login-limits.ts`) and a place for after-response work.
 */
export const limitPasswordGuesses = () =>
  createMiddleware<PasswordChecked>(async (c, next) => {
    c.set("passwords", {
      http: c.var.http,
      config: c.var.config,
      ip: meteredClientOf(c),
      background: c.var.background,
    });
    await next();
  });

/**
 * Invitation accepts per client address, every attempt counted (right token or not, valid
 * body or not). Off Cloudflare there is no address to meter, as for the login limits: one
 * shared bucket would let any caller lock every other one out.
 */
export const limitInvitationAccepts = () =>
  createMiddleware<AppBindings>(async (c, next) => {
    const ip = meteredClientOf(c);
    if (ip !== null) {
      const decision = await checkLimit(c.var.config, PUBLIC_POLICIES.acceptIp, ip);
      c.var.record.rateLimits.push(decision);
      enforce(decision);
    }
    await next();
  });
