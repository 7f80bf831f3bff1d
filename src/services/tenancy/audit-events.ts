/** Reading the audit trail of one tenant, with filters and keyset pagination. */
import { and, eq, gte } from "drizzle-orm";
import { batchAsTenant, type HttpDatabase, type Queryable } from "../../db/client";
import { auditEvents } from "../../db/schema";
import { keyset, type PageQuery, toPage } from "../../lib/pagination";

export interface AuditFilters extends PageQuery {
  action?: string;
  actor?: string;
  since?: string;
}

type AuditRow = typeof auditEvents.$inferSelect;

export function presentAuditEvent(row: AuditRow) {
  return {
    id: row.id,
    tenant_id: row.tenantId,
    actor_type: row.actorType,
    actor_id: row.actorId,
    action: row.action,
    target_type: row.targetType,
    target_id: row.targetId,
    request_id: row.requestId,
    ip: row.ip,
    meta: row.meta,
    created_at: row.createdAt.toISOString(),
  };
}

/** The query for a page of the tenant's audit events, unexecuted. */
export function auditEventsQuery(db: Queryable, tenantId: string, filters: AuditFilters) {
  const page = keyset(auditEvents, filters);
  return db
    .select()
    .from(auditEvents)
    .where(
      and(
        eq(auditEvents.tenantId, tenantId),
        filters.action ? eq(auditEvents.action, filters.action) : undefined,
        filters.actor ? eq(auditEvents.actorId, filters.actor) : undefined,
        filters.since ? gte(auditEvents.createdAt, new Date(filters.since)) : undefined,
        page.after,
      ),
    )
    .orderBy(...page.orderBy)
    .limit(page.take);
}

/** A page of the tenant's audit events, in one round trip. */
export async function listAuditEvents(http: HttpDatabase, tenantId: string, filters: AuditFilters) {
  const rows = await batchAsTenant(http, tenantId, (db) => auditEventsQuery(db, tenantId, filters));
  return toPage(rows, filters.limit, presentAuditEvent);
}
