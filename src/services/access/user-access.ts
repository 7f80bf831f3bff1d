/**
 * What a user may do right now: whether they are (still) a system admin and their role in
 * one tenant. Read from the database, not from the token, so a demotion or removal takes
 * effect within the cache TTL rather than when the token expires.
 */
import { and, eq, type SQL } from "drizzle-orm";
import { batchAsSystem, type HttpDatabase, type Queryable } from "../../db/client";
import { type Role, tenantMemberships, users } from "../../db/schema";
import { invalidToken } from "../../lib/problem";
import { AUTH_CACHE_TTL_MS, TtlCache } from "../../lib/ttl-cache";
import type { Principal } from "./principal";

export interface UserAccess {
  exists: boolean;
  isSystemAdmin: boolean;
  role: Role | null;
  tokenVersion: number;
  /** Epoch ms of the last version bump, for tokens without `ver` (an external IdP's). */
  tokenVersionChangedAt: number | null;
}

const MISSING: UserAccess = {
  exists: false,
  isSystemAdmin: false,
  role: null,
  tokenVersion: 0,
  tokenVersionChangedAt: null,
};

const cache = new TtlCache<UserAccess>(AUTH_CACHE_TTL_MS);
const NO_TENANT = "-";
/** Matches no membership: the join then only reports the system-admin flag. */
const NIL_UUID = "00000000-0000-0000-0000-000000000000";

export async function loadUserAccess(
  http: HttpDatabase,
  userId: string,
  tenantId: string | null,
): Promise<UserAccess> {
  return cache.getOrLoad(accessKey(userId, tenantId), async () => {
    const [row] = await batchAsSystem(http, (db) => userAccessQuery(db, userId, tenantId ?? NIL_UUID));
    return toAccess(row);
  });
}

/**
 * The user's flags and role in one tenant, unsent; `tenantId` may be SQL (the tenant looked up
 * in the same batch), and no membership matches a tenant that does not exist.
 */
export function userAccessQuery(db: Queryable, userId: string, tenantId: string | SQL) {
  return db
    .select({
      isSystemAdmin: users.isSystemAdmin,
      role: tenantMemberships.role,
      tokenVersion: users.tokenVersion,
      tokenVersionChangedAt: users.tokenVersionChangedAt,
    })
    .from(users)
    .leftJoin(
      tenantMemberships,
      and(eq(tenantMemberships.userId, users.id), eq(tenantMemberships.tenantId, tenantId)),
    )
    .where(eq(users.id, userId))
    .limit(1);
}

type AccessRow = Awaited<ReturnType<typeof userAccessQuery>>[number];

function toAccess(row: AccessRow | undefined): UserAccess {
  if (!row) return MISSING;
  return {
    exists: true,
    isSystemAdmin: row.isSystemAdmin,
    role: row.role,
    tokenVersion: row.tokenVersion,
    tokenVersionChangedAt: row.tokenVersionChangedAt?.getTime() ?? null,
  };
}

export function cachedUserAccess(userId: string, tenantId: string | null): UserAccess | undefined {
  return cache.get(accessKey(userId, tenantId));
}

/** Remembers access read elsewhere in a batch (with the tenant it concerns) and returns it. */
export function rememberUserAccess(
  userId: string,
  tenantId: string | null,
  row: AccessRow | undefined,
): UserAccess {
  const access = toAccess(row);
  cache.set(accessKey(userId, tenantId), access);
  return access;
}

const accessKey = (userId: string, tenantId: string | null) => `${userId}:${tenantId ?? NO_TENANT}`;

/**
 * `loadUserAccess` for a user principal, refusing (401 `invalid_token`) a user who no longer
 * exists and a token issued before the user's last password change or logout-all.
 */
export async function loadCurrentUser(
  http: HttpDatabase,
  principal: Principal & { kind: "user" },
  tenantId: string | null,
): Promise<UserAccess> {
  return currentAccess(principal, await loadUserAccess(http, principal.userId, tenantId));
}

/** The checks of `loadCurrentUser` on access already loaded. */
export function currentAccess(principal: Principal & { kind: "user" }, access: UserAccess): UserAccess {
  if (!access.exists) throw invalidToken("The token's user no longer exists.");
  const revoked =
    principal.tokenVersion !== null
      ? principal.tokenVersion !== access.tokenVersion
      : access.tokenVersionChangedAt !== null && principal.issuedAt * 1000 < access.tokenVersionChangedAt;
  if (revoked) throw invalidToken("The token has been revoked (password change or sign-out everywhere).");
  return access;
}

/** Called after membership changes in this isolate so they apply here at once. */
export function forgetUserAccess(userId: string, tenantId: string | null): void {
  cache.delete(`${userId}:${tenantId ?? NO_TENANT}`);
}

/** After a token version bump: every cached view of the user in this isolate goes. */
export function forgetUser(userId: string): void {
  cache.deleteWhere((key) => key.startsWith(`${userId}:`));
}

export function clearUserAccessCache(): void {
  cache.clear();
}
