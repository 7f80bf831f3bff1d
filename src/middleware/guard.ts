/**
 * The per-route gate, attached by `defineRoute` from the route table so no route can skip
 * it: authenticate, resolve the tenant by the tenancy rules, check the role, then run the
 * handler. Handlers read the outcome from `c.get("principal")` / `c.get("tenancy")`.
 */
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import type { AppBindings } from "../env";
import { afterResponse } from "../lib/after-response";
import { constantTimeEqual, utf8 } from "../lib/encoding";
import { Problem } from "../lib/problem";
import type { Access } from "../routes/route-table";
import { touchLastUsed } from "../services/api-keys";
import { authenticate, bearerToken, unauthenticated } from "../services/authenticate";
import { effectiveFeatures, effectiveQuotas, type Feature, type PlanSubject } from "../services/plans";
import { type Principal, roleAtLeast } from "../services/principal";
import {
  apiKeyPolicy,
  checkLimit,
  countCredentialFailure,
  enforceAll,
  type LimitDecision,
  rateLimitHeaders,
  refuseBlockedAddress,
  tenantPolicy,
} from "../services/rate-limit";
import { resolveTenant, subdomainOf } from "../services/tenant-resolution";
import { loadCurrentUser } from "../services/user-access";

const READ_METHODS = new Set(["GET", "HEAD"]);

export const guard = (access: Access, feature?: Feature) =>
  createMiddleware<AppBindings>(async (c, next) => {
    if (access.kind === "public") return next();
    if (access.kind === "system" && access.metricsToken && presentsMetricsToken(c)) return next();
    const http = c.get("http");
    const principal = await authenticateMetered(c);
    if (!principal) throw unauthenticated();
    if (principal.kind === "user" && principal.mustChangePassword && !passwordChangeExempt(access)) {
      throw new Problem(
        "password_change_required",
        "This token was issued for a temporary password: change it with POST /api/v1/auth/password, then sign in again.",
      );
    }
    c.set("principal", principal);
    const limits: LimitDecision[] = [];
    let overlapped: Promise<LimitDecision[]> | undefined;

    if (access.kind === "tenant") {
      const decision = await resolveTenant(http, principal, selectorsOf(c, access), {
        readOnly: READ_METHODS.has(c.req.method) || access.allowSuspended === true,
        systemSeesDeleted: access.systemSeesDeleted,
      });
      if (!decision.isSystemAdmin && !roleAtLeast(decision.role, access.role)) {
        throw new Problem("forbidden", `This route needs the ${access.role} role in the tenant.`);
      }
      c.set("tenancy", decision);
      if (feature && !effectiveFeatures(decision.tenant)[feature]) {
        throw new Problem("feature_disabled", `The "${feature}" feature is not enabled for this tenant.`, {
          extensions: { feature },
        });
      }
      // Operators are not metered against the tenant's budget: a system admin must be able
      // to act on (and lift the limit of) a tenant that has spent its hourly calls.
      if (!decision.isSystemAdmin) {
        const limiting = limitTenant(c, decision.tenant, principal);
        if (overlapsLimit(c.req.method, access)) overlapped = limiting;
        else limits.push(...(await limiting));
      }
    } else {
      await checkGlobalAccess(c, principal, access.kind);
    }
    if (principal.kind === "api_key") afterResponse(c, () => touchLastUsed(http, principal));
    c.set("rateLimits", limits);
    if (overlapped) {
      // The read runs while Redis answers: it costs max(Postgres, Redis), not their sum. A
      // refusal replaces whatever the read produced, so nothing of it reaches the 429.
      const [limited] = await Promise.allSettled([overlapped, next()]);
      if (limited.status === "rejected") throw limited.reason;
      limits.push(...limited.value);
    } else {
      await next();
    }
    if (limits.length > 0)
      for (const [name, value] of Object.entries(rateLimitHeaders(limits))) c.header(name, value);
  });

/**
 * Reads that write nothing overlap their rate limit with their query; writes, and reads that
 * write an audit record (`audited`), are limited before they run, so a refusal writes nothing.
 */
function overlapsLimit(method: string, access: Access & { kind: "tenant" }): boolean {
  return READ_METHODS.has(method) && access.audited !== true;
}

/**
 * The tenant's hourly budget, plus the key's own budget when an API key has one; their
 * headers go on every tenant-scoped response. Both are counted before either is enforced,
 * so a 429 names every policy it came close to.
 */
async function limitTenant(
  c: Context<AppBindings>,
  tenant: { id: string } & PlanSubject,
  principal: Principal,
): Promise<LimitDecision[]> {
  const config = c.get("config");
  const checks = [
    checkLimit(config, tenantPolicy(effectiveQuotas(tenant).api_calls_per_hour), `tenant:${tenant.id}`),
  ];
  if (principal.kind === "api_key" && principal.rateLimitPerHour !== null) {
    checks.push(checkLimit(config, apiKeyPolicy(principal.rateLimitPerHour), `key:${principal.keyId}`));
  }
  const decisions = await Promise.all(checks);
  enforceAll(decisions);
  return decisions;
}

async function checkGlobalAccess(
  c: Context<AppBindings>,
  principal: Principal,
  kind: "authenticated" | "user" | "system",
): Promise<void> {
  if (principal.kind === "api_key") {
    if (kind === "system") throw new Problem("forbidden", "API keys cannot act as a system admin.");
    if (kind === "user")
      throw new Problem("forbidden", "This route is for users: an API key has no account.");
    return;
  }
  const user = await loadCurrentUser(c.get("http"), principal, null);
  if (kind === "system" && !user.isSystemAdmin)
    throw new Problem("forbidden", "This route is for system admins.");
}

/**
 * `authenticate`, with failed credentials metered per client address (Cloudflare's
 * `CF-Connecting-IP`; without one there is no address to meter).
 */
async function authenticateMetered(c: Context<AppBindings>): Promise<Principal | undefined> {
  const ip = c.req.header("cf-connecting-ip");
  if (ip) refuseBlockedAddress(ip);
  try {
    return await authenticate(c.get("http"), c.get("config"), {
      authorization: c.req.header("authorization"),
      apiKey: c.req.header("x-api-key"),
    });
  } catch (err) {
    if (ip && err instanceof Problem && err.code === "invalid_token") {
      await countCredentialFailure(c.get("config"), ip);
    }
    throw err;
  }
}

function presentsMetricsToken(c: Context<AppBindings>): boolean {
  const expected = c.get("config").METRICS_TOKEN;
  const offered = bearerToken(c.req.header("authorization"));
  return expected !== undefined && offered !== undefined && constantTimeEqual(utf8(offered), utf8(expected));
}

function selectorsOf(c: Context<AppBindings>, access: Access & { kind: "tenant" }) {
  const host = new URL(c.req.url).host;
  const explicit = access.tenantParam
    ? c.req.param(access.tenantParam)
    : access.tenantQuery
      ? c.req.query(access.tenantQuery)
      : undefined;
  return {
    subdomain: subdomainOf(host, c.get("config").BASE_DOMAIN),
    header: c.req.header("x-tenant-id"),
    path: explicit,
  };
}

function passwordChangeExempt(access: Access): boolean {
  return (access.kind === "authenticated" || access.kind === "user") && access.passwordChangeExempt === true;
}
