/** Tenant members: the memberships of a tenant joined with their users. */
import { and, eq, ne, type SQL, sql } from "drizzle-orm";
import { batchAsTenant, type HttpDatabase, type Queryable } from "../../db/client";
import { type Role, tenantMemberships, users } from "../../db/schema";
import type { WriteBatch } from "../../db/write-batch";
import { keyset, type PageQuery, toPage } from "../../lib/pagination";
import { Problem } from "../../lib/problem";
import { identityWrite, requireRow, type WriteContext } from "../resources/tenant-resources";
import { auditInsert } from "../tenancy/audit";
import { forgetUserAccess } from "./user-access";

/** The query for a page of members (or the single member `onlyUserId`), unexecuted. */
function membersQuery(db: Queryable, tenantId: string, query: PageQuery, onlyUserId?: string) {
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

/** A page of members in one round trip. */
export async function membersPage(http: HttpDatabase, tenantId: string, query: PageQuery) {
  const rows = await batchAsTenant(http, tenantId, (db) => membersQuery(db, tenantId, query));
  return toPage(rows, query.limit, presentMember);
}

/** Changes a member's role in one round trip; demoting the last admin is 409 `last_admin`. */
export async function changeRole(write: WriteContext, userId: string, role: Role) {
  const tenantId = write.tenant.id;
  const batch = identityWrite(write);
  guardMembership(batch, tenantId, userId, { keepsAdmin: role === "admin" });
  batch.do(batch.db.update(tenantMemberships).set({ role }).where(membership(tenantId, userId)));
  audit(batch, write, "member.role_changed", userId, { role });
  const changed = batch.add(membersQuery(batch.db, tenantId, { limit: 1 }, userId));
  await batch.run();
  forgetUserAccess(userId, tenantId);
  const [row] = changed.value;
  if (!row) throw new Error("a changed membership was not found");
  return presentMember(row);
}

/** Removes a member in one round trip; removing the last admin is 409 `last_admin`. */
export async function removeMember(write: WriteContext, userId: string): Promise<void> {
  const tenantId = write.tenant.id;
  const batch = identityWrite(write);
  guardMembership(batch, tenantId, userId, { keepsAdmin: false });
  batch.do(batch.db.delete(tenantMemberships).where(membership(tenantId, userId)));
  audit(batch, write, "member.removed", userId);
  await batch.run();
  forgetUserAccess(userId, tenantId);
}

/**
 * The guards of a role change or removal, before the write: the member must exist, and a
 * change that takes away the member's admin role must leave another admin. The tenant's
 * admin memberships are locked first, in one statement and in key order (then the member's
 * own, if not among them), so two concurrent demotions of the last two admins serialise;
 * the guards are statements of their own, so their snapshot sees what the other committed
 * before the lock was granted, and the second demotion finds it would leave none.
 */
function guardMembership(
  batch: WriteBatch,
  tenantId: string,
  userId: string,
  change: { keepsAdmin: boolean },
): void {
  const admin = eq(tenantMemberships.role, "admin");
  batch.do(
    sql`select 1 from ${tenantMemberships} where ${and(eq(tenantMemberships.tenantId, tenantId), admin)} order by ${tenantMemberships.userId} for update`,
  );
  requireRow(
    batch,
    tenantMemberships,
    membership(tenantId, userId),
    new Problem("not_found", "No such member."),
  );
  if (change.keepsAdmin) return;
  const isAdmin = anyMembership(and(membership(tenantId, userId), admin));
  const otherAdmin = anyMembership(
    and(eq(tenantMemberships.tenantId, tenantId), admin, ne(tenantMemberships.userId, userId)),
  );
  batch.failWhen(sql`${isAdmin} and not ${otherAdmin}`, {
    code: "last_admin",
    detail: "A tenant must keep at least one admin.",
  });
}

/** Audit records of membership changes name the user (target type `user`). */
function audit(
  batch: WriteBatch,
  write: WriteContext,
  action: string,
  userId: string,
  meta?: Record<string, unknown>,
): void {
  batch.do(
    auditInsert(batch.db, write.audit, {
      tenantId: write.tenant.id,
      action,
      targetType: "user",
      targetId: userId,
      meta,
    }),
  );
}

function membership(tenantId: string, userId: string) {
  return and(eq(tenantMemberships.tenantId, tenantId), eq(tenantMemberships.userId, userId));
}

function anyMembership(where: SQL | undefined): SQL {
  return sql`exists (select 1 from ${tenantMemberships} where ${where})`;
}
