/**
 * What a user may do right now: whether they are (still) a system admin and their role in
 * one tenant. Read from the database, not from the token, so a demotion or removal takes
 * effect within the cache TTL rather than when the token expires.
 */
import { and, eq } from "drizzle-orm";
import { batchAsSystem, type HttpDatabase } from "../db/client";
import { type Role, tenantMemberships, users } from "../db/schema";
import { AUTH_CACHE_TTL_MS, TtlCache } from "../lib/ttl-cache";

export interface UserAccess {
  exists: boolean;
  isSystemAdmin: boolean;
  role: Role | null;
}

const cache = new TtlCache<UserAccess>(AUTH_CACHE_TTL_MS);
const NO_TENANT = "-";
/** Matches no membership: the join then only reports the system-admin flag. */
const NIL_UUID = "00000000-0000-0000-0000-000000000000";

export async function loadUserAccess(
  http: HttpDatabase,
  userId: string,
  tenantId: string | null,
): Promise<UserAccess> {
  return cache.getOrLoad(`${userId}:${tenantId ?? NO_TENANT}`, async () => {
    const [row] = await batchAsSystem(http, (tx) =>
      tx
        .select({ isSystemAdmin: users.isSystemAdmin, role: tenantMemberships.role })
        .from(users)
        .leftJoin(
          tenantMemberships,
          and(eq(tenantMemberships.userId, users.id), eq(tenantMemberships.tenantId, tenantId ?? NIL_UUID)),
        )
        .where(eq(users.id, userId))
        .limit(1),
    );
    if (!row) return { exists: false, isSystemAdmin: false, role: null };
    return { exists: true, isSystemAdmin: row.isSystemAdmin, role: row.role };
  });
}

/** Called after membership changes in this isolate so they apply here at once. */
export function forgetUserAccess(userId: string, tenantId: string | null): void {
  cache.delete(`${userId}:${tenantId ?? NO_TENANT}`);
}

export function clearUserAccessCache(): void {
  cache.clear();
}
