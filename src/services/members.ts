/** Tenant members: the memberships of a tenant joined with their users. */
import { and, eq } from "drizzle-orm";
import type { Tx } from "../db/client";
import { tenantMemberships, users } from "../db/schema";
import { keyset, type PageQuery, toPage } from "../lib/pagination";

export async function listMembers(tx: Tx, tenantId: string, query: PageQuery) {
  const page = keyset({ createdAt: tenantMemberships.createdAt, id: tenantMemberships.userId }, query);
  const rows = await tx
    .select({
      id: tenantMemberships.userId,
      createdAt: tenantMemberships.createdAt,
      email: users.email,
      name: users.name,
      role: tenantMemberships.role,
    })
    .from(tenantMemberships)
    .innerJoin(users, eq(users.id, tenantMemberships.userId))
    .where(and(eq(tenantMemberships.tenantId, tenantId), page.after))
    .orderBy(...page.orderBy)
    .limit(page.take);
  return toPage(rows, query.limit, (row) => ({
    user_id: row.id,
    email: row.email,
    name: row.name,
    role: row.role,
    joined_at: row.createdAt.toISOString(),
  }));
}
