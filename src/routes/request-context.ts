/** Typed accessors for what the guard established, for handlers. */
import type { Context } from "hono";
import type { AppBindings } from "../env";
import type { AuditContext } from "../services/audit";
import type { Principal } from "../services/principal";
import type { TenantDecision } from "../services/tenant-resolution";

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

/** The user id behind the request, if a user (not an API key) is calling. */
export function userIdOf(c: Context<AppBindings>): string | null {
  const principal = c.get("principal");
  return principal?.kind === "user" ? principal.userId : null;
}
