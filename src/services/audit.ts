/**
 * The audit trail. Records are written with the transaction of the change they describe,
 * so a change and its record commit or roll back together.
 */
import type { Tx } from "../db/client";
import { auditEvents } from "../db/schema";
import { actorOf, type Principal } from "./principal";

/** The request facts every audit record carries. */
export interface AuditContext {
  principal: Principal | undefined;
  requestId: string | null;
  ip: string | null;
}

export interface AuditEntry {
  tenantId: string | null;
  action: string;
  targetType?: string;
  targetId?: string;
  meta?: Record<string, unknown>;
}

export async function recordAudit(tx: Tx, ctx: AuditContext, entry: AuditEntry): Promise<void> {
  const { actorType, actorId } = actorOf(ctx.principal);
  await tx.insert(auditEvents).values({
    tenantId: entry.tenantId,
    actorType,
    actorId,
    action: entry.action,
    targetType: entry.targetType ?? null,
    targetId: entry.targetId ?? null,
    requestId: ctx.requestId,
    ip: ctx.ip,
    meta: entry.meta ?? {},
  });
}
