/**
 * Signing in, tenant switching and the password lifecycle. Unknown email and wrong password
 * take the same path (a hash verification against a dummy hash) and give the same answer;
 * every token carries the user's token version, so a password change or "sign out
 * everywhere" revokes all tokens issued before it.
 */
import { and, asc, eq, ne, sql } from "drizzle-orm";
import { batchAsSystem, type HttpDatabase } from "../../db/client";
import {
  normalizedEmail,
  type Role,
  type TenantStatus,
  tenantMemberships,
  tenants,
  users,
} from "../../db/schema";
import { WriteBatch } from "../../db/write-batch";
import type { Config } from "../../env";
import { clock } from "../../lib/clock";
import { ACCESS_TOKEN_TTL_S, signAccessToken } from "../../lib/jwt";
import { assertPasswordAcceptable } from "../../lib/password-policy";
import { DUMMY_PASSWORD_HASH, hashPassword, needsRehash, verifyPassword } from "../../lib/passwords";
import { Problem } from "../../lib/problem";
import { type AuditContext, auditInsert } from "../tenancy/audit";
import { findTenant, parseTenantKey } from "../tenancy/tenant-directory";
import { clearAfterSuccess, countFailure, loginAttempt, refuseIfOverLimit } from "./login-limits";
import { forgetUser } from "./user-access";

export interface Membership {
  tenant_id: string;
  tenant_slug: string;
  tenant_name: string;
  tenant_status: TenantStatus;
  role: Role;
}

interface SessionTenant {
  id: string;
  slug: string;
  name: string;
  role: Role | null;
}

/** What signing in needs to know about a user. */
export interface Account {
  id: string;
  email: string;
  passwordHash: string | null;
  isSystemAdmin: boolean;
  tokenVersion: number;
  passwordExpiresAt: Date | null;
  mustChangePassword: boolean;
}

const accountColumns = {
  id: users.id,
  email: users.email,
  passwordHash: users.passwordHash,
  isSystemAdmin: users.isSystemAdmin,
  tokenVersion: users.tokenVersion,
  passwordExpiresAt: users.passwordExpiresAt,
  mustChangePassword: users.mustChangePassword,
};

async function findAccount(http: HttpDatabase, by: { email: string } | { id: string }) {
  const where = "email" in by ? eq(users.emailNormalized, normalizedEmail(by.email)) : eq(users.id, by.id);
  const [account] = await batchAsSystem(http, (tx) =>
    tx.select(accountColumns).from(users).where(where).limit(1),
  );
  return account;
}

/** Where a password check runs: the client address for the limits, and a place for after-work. */
export interface PasswordCheckContext {
  http: HttpDatabase;
  config: Config;
  /** The block the limits meter the client by (its IPv4 address or IPv6 /64), null off Cloudflare. */
  ip: string | null;
  /** Runs work after the response (`waitUntil`): counter resets and rehashing. */
  background: (work: () => Promise<unknown>) => void;
}

/**
 * Proves that the caller knows the password of the account with `email`, under the login
 * limits: over budget → 429 before any hash work; wrong → 401 (counted); an expired
 * temporary password → 401. Returns the account.
 */
export async function provePassword(
  ctx: PasswordCheckContext,
  email: string,
  password: string,
): Promise<Account> {
  const attempt = await loginAttempt(email, ctx.ip);
  await refuseIfOverLimit(ctx.config, attempt);
  const account = await findAccount(ctx.http, { email });
  const valid = await verifyPassword(password, account?.passwordHash ?? DUMMY_PASSWORD_HASH);
  if (!account?.passwordHash || !valid) {
    await countFailure(ctx.config, attempt);
    throw new Problem("unauthenticated", "Invalid email or password.");
  }
  ctx.background(() => clearAfterSuccess(ctx.config, attempt));
  if (account.passwordExpiresAt && account.passwordExpiresAt.getTime() <= clock.now()) {
    throw new Problem(
      "unauthenticated",
      "This temporary password has expired; ask an administrator to issue a new one.",
    );
  }
  if (needsRehash(account.passwordHash)) ctx.background(() => rehash(ctx.http, account, password));
  return account;
}

/** Stores the password under today's hash parameters, unless it changed meanwhile. */
async function rehash(http: HttpDatabase, account: Account, password: string): Promise<void> {
  const passwordHash = await hashPassword(password);
  await batchAsSystem(http, (tx) =>
    tx
      .update(users)
      .set({ passwordHash })
      .where(and(eq(users.id, account.id), eq(users.passwordHash, account.passwordHash ?? ""))),
  );
}

export async function login(
  ctx: PasswordCheckContext,
  input: { email: string; password: string; tenant?: string },
) {
  const account = await provePassword(ctx, input.email, input.password);
  return issueSession(ctx.http, ctx.config, account, input.tenant);
}

export async function switchTenant(http: HttpDatabase, config: Config, userId: string, tenant: string) {
  const account = await findAccount(http, { id: userId });
  if (!account) throw new Problem("invalid_token", "The token's user no longer exists.");
  return issueSession(http, config, account, tenant);
}

/**
 * Changes the caller's password (the current one proves it is them), ends a temporary
 * password's restrictions and revokes every token issued before. The caller signs in again.
 */
export async function changePassword(
  ctx: PasswordCheckContext,
  audit: AuditContext,
  userId: string,
  input: { current_password: string; new_password: string },
): Promise<void> {
  const account = await findAccount(ctx.http, { id: userId });
  if (!account) throw new Problem("invalid_token", "The token's user no longer exists.");
  await provePassword(ctx, account.email, input.current_password);
  assertPasswordAcceptable(input.new_password, account.email, "new_password");
  if (input.new_password === input.current_password) {
    throw new Problem("validation_failed", "The new password must differ from the current one.", {
      extensions: {
        errors: [{ path: "new_password", message: "Same as the current password", code: "password_reused" }],
      },
    });
  }
  const passwordHash = await hashPassword(input.new_password);
  await bumpTokenVersion(ctx.http, audit, userId, "user.password_changed", {
    passwordHash,
    mustChangePassword: false,
    passwordExpiresAt: null,
  });
}

/** Signs the user out everywhere: every token issued so far stops working. */
export async function logoutEverywhere(
  http: HttpDatabase,
  audit: AuditContext,
  userId: string,
): Promise<void> {
  await bumpTokenVersion(http, audit, userId, "user.signed_out_everywhere", {});
}

async function bumpTokenVersion(
  http: HttpDatabase,
  audit: AuditContext,
  userId: string,
  action: string,
  changes: Partial<typeof users.$inferInsert>,
): Promise<void> {
  const batch = new WriteBatch(http, { system: true });
  batch.failWhen(sql`not exists (select 1 from ${users} where ${users.id} = ${userId})`, {
    code: "invalid_token",
    detail: "The token's user no longer exists.",
  });
  batch.do(
    batch.db
      .update(users)
      .set({
        ...changes,
        tokenVersion: sql`${users.tokenVersion} + 1`,
        tokenVersionChangedAt: new Date(clock.now()),
        updatedAt: new Date(clock.now()),
      })
      .where(eq(users.id, userId)),
  );
  batch.do(auditInsert(batch.db, audit, { tenantId: null, action, targetType: "user", targetId: userId }));
  await batch.run();
  forgetUser(userId);
}

/** The account as `GET /me` shows it, in one round trip. */
export async function accountOf(http: HttpDatabase, userId: string) {
  const [user] = await batchAsSystem(http, (db) =>
    db
      .select({
        id: users.id,
        email: users.email,
        name: users.name,
        is_system_admin: users.isSystemAdmin,
        must_change_password: users.mustChangePassword,
      })
      .from(users)
      .where(eq(users.id, userId))
      .limit(1),
  );
  return user;
}

export async function listMemberships(http: HttpDatabase, userId: string): Promise<Membership[]> {
  return batchAsSystem(http, (tx) =>
    tx
      .select({
        tenant_id: tenants.id,
        tenant_slug: tenants.slug,
        tenant_name: tenants.name,
        tenant_status: tenants.status,
        role: tenantMemberships.role,
      })
      .from(tenantMemberships)
      .innerJoin(tenants, eq(tenants.id, tenantMemberships.tenantId))
      .where(and(eq(tenantMemberships.userId, userId), ne(tenants.status, "deleted")))
      .orderBy(asc(tenantMemberships.createdAt), asc(tenants.slug)),
  );
}

/** A token for `account` in the requested tenant (or its first active one). */
export async function issueSession(
  http: HttpDatabase,
  config: Config,
  account: Account,
  requested: string | undefined,
) {
  const memberships = await listMemberships(http, account.id);
  const tenant = await chooseTenant(http, account, memberships, requested);
  const accessToken = await signAccessToken(config, {
    sub: account.id,
    tenant_id: tenant?.id ?? null,
    tenant_slug: tenant?.slug ?? null,
    role: tenant?.role ?? null,
    is_system_admin: account.isSystemAdmin,
    ver: account.tokenVersion,
    pwd_change: account.mustChangePassword,
  });
  return {
    access_token: accessToken,
    token_type: "Bearer" as const,
    expires_in: ACCESS_TOKEN_TTL_S,
    tenant,
    memberships,
    password_change_required: account.mustChangePassword,
  };
}

/**
 * A member picks any of their tenants; a system admin may pick any live tenant. A suspended
 * tenant is closed to its members (403 `tenant_suspended`) and never picked by default.
 */
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
  if (requested === undefined) {
    const first = memberships.find((m) => m.tenant_status === "active");
    return first ? toSession(first) : null;
  }
  const key = parseTenantKey(requested);
  const membership =
    key && memberships.find((m) => ("id" in key ? m.tenant_id === key.id : m.tenant_slug === key.slug));
  if (membership) {
    if (membership.tenant_status === "suspended" && !user.isSystemAdmin)
      throw new Problem("tenant_suspended", "This tenant is suspended.");
    return toSession(membership);
  }
  if (key && user.isSystemAdmin) {
    const found = await findTenant(http, key);
    if (found && found.status !== "deleted")
      return { id: found.id, slug: found.slug, name: found.name, role: null };
  }
  throw new Problem("forbidden", "You are not a member of that tenant.");
}
