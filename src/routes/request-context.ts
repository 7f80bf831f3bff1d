/** Typed accessors for what the guard established, for handlers. */
import type { Context } from "hono";
import type { AppBindings } from "../env";
import { afterResponse } from "../lib/after-response";
import type { AuditContext } from "../services/audit";
import type { Principal } from "../services/principal";
import type { PasswordCheckContext } from "../services/sessions";
import type { TenantDecision } from "../services/tenant-resolution";
import type { WriteContext } from "../services/tenant-resources";

export function tenancyOf(c: Context<AppBindings>): TenantDecision {
  const tenancy = c.get("tenancy");
  if (!tenancy) throw new Error(`${c.req.routePath} is not declared tenant-scoped in the route table`);
  return tenancy;
}

export function principalOf(c: Context<AppBindings>): Principal {
  const principal = c.get("principal");
  if (!principal) throw new Error(`${c.req.routePath} is not declared authenticated in the route table`);
  return principal;
}

/** The client address as Cloudflare's edge saw it; not spoofable behind Cloudflare. */
export function clientIpOf(c: Context<AppBindings>): string | null {
  return c.req.header("cf-connecting-ip") ?? null;
}

export function auditContextOf(c: Context<AppBindings>): AuditContext {
  return { principal: c.get("principal"), requestId: c.get("requestId"), ip: clientIpOf(c) };
}

/** What a write in the resolved tenant needs to know about the request. */
export function writeContextOf(c: Context<AppBindings>): WriteContext {
  const idempotency = c.get("idempotency");
  return {
    tenant: tenancyOf(c).tenant,
    audit: auditContextOf(c),
    userId: userIdOf(c),
    config: c.get("config"),
    http: c.get("http"),
    ...(idempotency ? { idempotency } : {}),
  };
}

/** The user id behind the request, if a user (not an API key) is calling. */
export function userIdOf(c: Context<AppBindings>): string | null {
  const principal = c.get("principal");
  return principal?.kind === "user" ? principal.userId : null;
}

/** Where a password check of this request runs: its client address for the login limits, and `waitUntil`. */
export function passwordCheckContext(c: Context<AppBindings>): PasswordCheckContext {
  return {
    http: c.get("http"),
    config: c.get("config"),
    ip: clientIpOf(c),
    background: (work) => afterResponse(c, work),
  };
}
