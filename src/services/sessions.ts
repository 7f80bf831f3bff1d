/**
 * Login and tenant switching. Unknown email and wrong password take the same path (a
 * PBKDF2 verification against a dummy hash) and give the same answer.
 */
import { and, asc, eq, ne, sql } from "drizzle-orm";
import { batchAsSystem, type HttpDatabase } from "../db/client";
import { type Role, tenantMemberships, tenants, users } from "../db/schema";
import type { Config } from "../env";
import { ACCESS_TOKEN_TTL_S, signAccessToken } from "../lib/jwt";
import { DUMMY_PASSWORD_HASH, verifyPassword } from "../lib/passwords";
import { Problem } from "../lib/problem";
import { findTenant, parseTenantKey } from "./tenant-directory";

export interface Membership {
  tenant_id: string;
  tenant_slug: string;
  tenant_name: string;
  role: Role;
}

interface SessionTenant {
  id: string;
  slug: string;
  name: string;
  role: Role | null;
}

export async function login(
  http: HttpDatabase,
  config: Config,
  input: { email: string; password: string; tenant?: string },
) {
  const [user] = await batchAsSystem(http, (tx) =>
    tx
      .select({ id: users.id, passwordHash: users.passwordHash, isSystemAdmin: users.isSystemAdmin })
      .from(users)
      .where(sql`lower(${users.email}) = lower(${input.email})`)
      .limit(1),
  );
  const valid = await verifyPassword(input.password, user?.passwordHash ?? DUMMY_PASSWORD_HASH);
  if (!user?.passwordHash || !valid) {
    throw new Problem("unauthenticated", "Invalid email or password.");
  }
  return issueSession(http, config, { id: user.id, isSystemAdmin: user.isSystemAdmin }, input.tenant);
}

export async function switchTenant(http: HttpDatabase, config: Config, userId: string, tenant: string) {
  const [user] = await batchAsSystem(http, (tx) =>
    tx
      .select({ id: users.id, isSystemAdmin: users.isSystemAdmin })
      .from(users)
      .where(eq(users.id, userId))
      .limit(1),
  );
  if (!user) throw new Problem("invalid_token", "The token's user no longer exists.");
  return issueSession(http, config, user, tenant);
}

export async function listMemberships(http: HttpDatabase, userId: string): Promise<Membership[]> {
  return batchAsSystem(http, (tx) =>
    tx
      .select({
        tenant_id: tenants.id,
        tenant_slug: tenants.slug,
        tenant_name: tenants.name,
        role: tenantMemberships.role,
      })
      .from(tenantMemberships)
      .innerJoin(tenants, eq(tenants.id, tenantMemberships.tenantId))
      .where(and(eq(tenantMemberships.userId, userId), ne(tenants.status, "deleted")))
      .orderBy(asc(tenantMemberships.createdAt), asc(tenants.slug)),
  );
}

async function issueSession(
  http: HttpDatabase,
  config: Config,
  user: { id: string; isSystemAdmin: boolean },
  requested: string | undefined,
) {
  const memberships = await listMemberships(http, user.id);
  const tenant = await chooseTenant(http, user, memberships, requested);
  const accessToken = await signAccessToken(config, {
    sub: user.id,
    tenant_id: tenant?.id ?? null,
    tenant_slug: tenant?.slug ?? null,
    role: tenant?.role ?? null,
    is_system_admin: user.isSystemAdmin,
  });
  return {
    access_token: accessToken,
    token_type: "Bearer" as const,
    expires_in: ACCESS_TOKEN_TTL_S,
    tenant,
    memberships,
  };
}

/** A member picks any of their tenants; a system admin may pick any live tenant. */
async function chooseTenant(
  http: HttpDatabase,
  user: { isSystemAdmin: boolean },
  memberships: Membership[],
  requested: string | undefined,
): Promise<SessionTenant | null> {
  const toSession = (m: Membership): SessionTenant => ({
    id: m.tenant_id,
    slug: m.tenant_slug,
    name: m.tenant_name,
    role: m.role,
  });
  if (requested === undefined) return memberships[0] ? toSession(memberships[0]) : null;
  const key = parseTenantKey(requested);
  const membership =
    key && memberships.find((m) => ("id" in key ? m.tenant_id === key.id : m.tenant_slug === key.slug));
  if (membership) return toSession(membership);
  if (key && user.isSystemAdmin) {
    const found = await findTenant(http, key);
    if (found && found.status !== "deleted")
      return { id: found.id, slug: found.slug, name: found.name, role: null };
  }
  throw new Problem("forbidden", "You are not a member of that tenant.");
}
