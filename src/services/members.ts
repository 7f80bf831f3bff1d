/** Tenant members: the memberships of a tenant joined with their users. */
import { and, eq } from "drizzle-orm";
import type { Queryable, Tx } from "../db/client";
import { type Role, tenantMemberships, users } from "../db/schema";
import { keyset, type PageQuery, toPage } from "../lib/pagination";
import { Problem } from "../lib/problem";
import { type AuditContext, recordAudit } from "./audit";
import { forgetUserAccess } from "./user-access";

/** The query for a page of members (or the single member `onlyUserId`), unexecuted. */
export function membersQuery(db: Queryable, tenantId: string, query: PageQuery, onlyUserId?: string) {
  const page = keyset({ createdAt: tenantMemberships.createdAt, id: tenantMemberships.userId }, query);
  return db
    .select({
      id: tenantMemberships.userId,
      createdAt: tenantMemberships.createdAt,
      email: users.email,
      name: users.name,
      role: tenantMemberships.role,
    })
    .from(tenantMemberships)
    .innerJoin(users, eq(users.id, tenantMemberships.userId))
    .where(
      and(
        eq(tenantMemberships.tenantId, tenantId),
        onlyUserId ? eq(tenantMemberships.userId, onlyUserId) : undefined,
        page.after,
      ),
    )
    .orderBy(...page.orderBy)
    .limit(page.take);
}

type MemberRow = Awaited<ReturnType<typeof membersQuery>>[number];

export function presentMember(row: MemberRow) {
  return {
    user_id: row.id,
    email: row.email,
    name: row.name,
    role: row.role,
    joined_at: row.createdAt.toISOString(),
  };
}

export async function listMembers(tx: Tx, tenantId: string, query: PageQuery, onlyUserId?: string) {
  return toPage(await membersQuery(tx, tenantId, query, onlyUserId), query.limit, presentMember);
}

/**
 * Role changes and removals lock the tenant's admin memberships first, so two concurrent
 * demotions of the last two admins serialise and the second one sees it would leave none.
 */
async function lockAdmins(tx: Tx, tenantId: string): Promise<string[]> {
  const rows = await tx
    .select({ userId: tenantMemberships.userId })
    .from(tenantMemberships)
    .where(and(eq(tenantMemberships.tenantId, tenantId), eq(tenantMemberships.role, "admin")))
    .for("update");
  return rows.map((r) => r.userId);
}

async function assertNotLastAdmin(tx: Tx, tenantId: string, userId: string): Promise<void> {
  const admins = await lockAdmins(tx, tenantId);
  if (admins.length === 1 && admins[0] === userId) {
    throw new Problem("last_admin", "A tenant must keep at least one admin.");
  }
}

export async function changeRole(tx: Tx, audit: AuditContext, tenantId: string, userId: string, role: Role) {
  if (role !== "admin") await assertNotLastAdmin(tx, tenantId, userId);
  const [row] = await tx
    .update(tenantMemberships)
    .set({ role })
    .where(and(eq(tenantMemberships.tenantId, tenantId), eq(tenantMemberships.userId, userId)))
    .returning({ userId: tenantMemberships.userId });
  if (!row) throw new Problem("not_found", "No such member.");
  await recordAudit(tx, audit, {
    tenantId,
    action: "member.role_changed",
    targetType: "user",
    targetId: userId,
    meta: { role },
  });
  forgetUserAccess(userId, tenantId);
  const [member] = (await listMembers(tx, tenantId, { limit: 100 }, userId)).data;
  return member;
}

export async function removeMember(
  tx: Tx,
  audit: AuditContext,
  tenantId: string,
  userId: string,
): Promise<void> {
  await assertNotLastAdmin(tx, tenantId, userId);
  const [row] = await tx
    .delete(tenantMemberships)
    .where(and(eq(tenantMemberships.tenantId, tenantId), eq(tenantMemberships.userId, userId)))
    .returning({ userId: tenantMemberships.userId });
  if (!row) throw new Problem("not_found", "No such member.");
  await recordAudit(tx, audit, { tenantId, action: "member.removed", targetType: "user", targetId: userId });
  forgetUserAccess(userId, tenantId);
}
