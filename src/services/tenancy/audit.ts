/**
 * The audit trail. Records are written with the transaction of the change they describe,
 * so a change and its record commit or roll back together.
 */
import type { SQL } from "drizzle-orm";
import type { Queryable, Tx } from "../../db/client";
import { auditEvents } from "../../db/schema";
import { actorOf, type Principal } from "../access/principal";

/** The request facts every audit record carries. */
export interface AuditContext {
  principal: Principal | undefined;
  requestId: string | null;
  ip: string | null;
}

export interface AuditEntry {
  /** SQL where only the database knows it when a batch runs (a tenant named by slug). */
  tenantId: string | null | SQL;
  action: string;
  targetType?: string;
  targetId?: string | SQL;
  /** Plain values, or SQL for what only the database knows when a batch runs. */
  meta?: Record<string, unknown> | SQL;
}

export async function recordAudit(tx: Tx, ctx: AuditContext, entry: AuditEntry): Promise<void> {
  await auditInsert(tx, ctx, entry);
}

/** The audit record's insert, unsent: a statement of a write batch, or awaited in a transaction. */
export function auditInsert(db: Queryable, ctx: AuditContext, entry: AuditEntry) {
  const { actorType, actorId } = actorOf(ctx.principal);
  return db.insert(auditEvents).values({
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
