/**
 * Reading the audit trail of one tenant, with filters and keyset pagination. A dedicated
 * tenant's trail is in two databases: its own (its resources' records) and the control one
 * (identity writes: members, invitations, API keys, the tenant itself). A page reads both
 * side by side with the same filters and cursor and merges them in keyset order.
 */
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

/**
 * A page of the tenant's audit events: one round trip, two side by side when its own rows are
 * not in the control database (`data`). Each read takes `limit + 1` rows past the cursor, so
 * the merge's first `limit + 1` are the trail's.
 */
export async function listAuditEvents(
  dbs: { http: HttpDatabase; data: HttpDatabase },
  tenantId: string,
  filters: AuditFilters,
) {
  const read = (db: HttpDatabase) =>
    batchAsTenant(db, tenantId, (q) => auditEventsQuery(q, tenantId, filters));
  if (dbs.data === dbs.http) return toPage(await read(dbs.http), filters.limit, presentAuditEvent);
  const [own, control] = await Promise.all([read(dbs.data), read(dbs.http)]);
  return toPage(mergeByKey(own, control), filters.limit, presentAuditEvent);
}

/** Two lists each in keyset order (created_at, then id), as one in that order. */
export function mergeByKey<R extends { createdAt: Date; id: string }>(a: R[], b: R[]): R[] {
  return [...a, ...b].sort(
    (x, y) => x.createdAt.getTime() - y.createdAt.getTime() || (x.id < y.id ? -1 : x.id > y.id ? 1 : 0),
  );
}
