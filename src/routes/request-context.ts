/** What a service needs to know about the request, taken from what the route's pipeline established. */
import type { Context } from "hono";
import { clientIpOf } from "../lib/client-ip";
import type { Authenticated, TenantScoped } from "../middleware/pipeline/env";
import type { WriteContext } from "../services/resources/tenant-resources";
import type { AuditContext } from "../services/tenancy/audit";

export function auditContextOf<E extends Authenticated>(c: Context<E>): AuditContext {
  return { principal: c.var.principal, requestId: c.var.requestId, ip: clientIpOf(c) };
}

/** What a write in the resolved tenant needs to know about the request. */
export function writeContextOf<E extends TenantScoped>(c: Context<E>): WriteContext {
  const { idempotency } = c.var;
  return {
    tenant: c.var.tenant,
    audit: auditContextOf(c),
    userId: userIdOf(c),
    config: c.var.config,
    http: c.var.http,
    data: c.var.data,
    ...(idempotency ? { idempotency } : {}),
  };
}

/** The user id behind the request, if a user (not an API key) is calling. */
export function userIdOf<E extends Authenticated>(c: Context<E>): string | null {
  const { principal } = c.var;
  return principal.kind === "user" ? principal.userId : null;
}
