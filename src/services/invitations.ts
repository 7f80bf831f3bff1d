/**
 * Invitations: a random token (shown once, stored as its SHA-256) that lets one email join a
 * tenant with a role within 7 days. Pending invitations count against the members quota.
 */
import { and, eq, isNull, sql } from "drizzle-orm";
import { type Database, type Queryable, type Tx, withSystem } from "../db/client";
import { invitations, normalizedEmail, type Role, tenantMemberships, tenants, users } from "../db/schema";
import { clock } from "../lib/clock";
import { randomBase62, sha256Hex } from "../lib/encoding";
import { keyset, type PageQuery } from "../lib/pagination";
import { assertPasswordAcceptable } from "../lib/password-policy";
import { hashPassword } from "../lib/passwords";
import { Problem } from "../lib/problem";
import { type AuditContext, recordAudit } from "./audit";
import { pendingFor } from "./pending-invitations";
import type { PlanSubject } from "./plans";
import type { Principal } from "./principal";
import { enforceCountQuota } from "./quotas";
import { type PasswordCheckContext, provePassword } from "./sessions";
import { uniqueName } from "./unique-names";
import { forgetUserAccess } from "./user-access";

const TTL_MS = 7 * 86_400_000;
const TOKEN_PREFIX = "inv_";

type InvitationRow = typeof invitations.$inferSelect;

export function presentInvitation(row: InvitationRow) {
  return {
    id: row.id,
    email: row.email,
    role: row.role,
    invited_by: row.invitedBy,
    expires_at: row.expiresAt.toISOString(),
    created_at: row.createdAt.toISOString(),
  };
}

export async function createInvitation(
  tx: Tx,
  audit: AuditContext,
  input: { tenant: { id: string } & PlanSubject; email: string; role: Role; invitedBy: string | null },
) {
  await enforceCountQuota(tx, input.tenant, "members");
  const email = input.email.trim();
  const [member] = await tx
    .select({ userId: tenantMemberships.userId })
    .from(tenantMemberships)
    .innerJoin(users, eq(users.id, tenantMemberships.userId))
    .where(
      and(eq(tenantMemberships.tenantId, input.tenant.id), eq(users.emailNormalized, normalizedEmail(email))),
    )
    .limit(1);
  if (member) throw new Problem("conflict", "That email is already a member of this tenant.");
  // An expired invitation for the same email is retired so a new one can be sent.
  await tx
    .update(invitations)
    .set({ revokedAt: new Date(clock.now()) })
    .where(
      and(
        eq(invitations.tenantId, input.tenant.id),
        sql`lower(normalize(${invitations.email}, NFKC)) = ${normalizedEmail(email)}`,
        isNull(invitations.acceptedAt),
        isNull(invitations.revokedAt),
        sql`${invitations.expiresAt} <= ${new Date(clock.now())}`,
      ),
    );
  const token = `${TOKEN_PREFIX}${randomBase62(40)}`;
  const [row] = await uniqueName(
    tx
      .insert(invitations)
      .values({
        tenantId: input.tenant.id,
        email,
        role: input.role,
        tokenHash: await sha256Hex(token),
        invitedBy: input.invitedBy,
        expiresAt: new Date(clock.now() + TTL_MS),
      })
      .returning(),
    "That email already has a pending invitation.",
  );
  if (!row) throw new Error("insert returned no invitation");
  await recordAudit(tx, audit, {
    tenantId: input.tenant.id,
    action: "invitation.created",
    targetType: "invitation",
    targetId: row.id,
    meta: { email: row.email, role: row.role },
  });
  return { invitation: presentInvitation(row), token };
}

/** The query for a page of pending invitations, unexecuted. */
export function pendingInvitationsQuery(db: Queryable, tenantId: string, query: PageQuery) {
  const page = keyset(invitations, query);
  return db
    .select()
    .from(invitations)
    .where(and(pendingFor(tenantId), page.after))
    .orderBy(...page.orderBy)
    .limit(page.take);
}

export async function revokeInvitation(
  tx: Tx,
  audit: AuditContext,
  tenantId: string,
  id: string,
): Promise<void> {
  const [row] = await tx
    .update(invitations)
    .set({ revokedAt: new Date(clock.now()) })
    .where(
      and(
        eq(invitations.tenantId, tenantId),
        eq(invitations.id, id),
        isNull(invitations.acceptedAt),
        isNull(invitations.revokedAt),
      ),
    )
    .returning({ id: invitations.id });
  if (!row) throw new Problem("not_found", "No such pending invitation.");
  await recordAudit(tx, audit, {
    tenantId,
    action: "invitation.revoked",
    targetType: "invitation",
    targetId: id,
  });
}

export interface AcceptInput {
  token: string;
  name?: string;
  password?: string;
  /** The user whose valid access token came with the request, if any: proof of that account. */
  provenUserId: string | null;
  requestId: string;
  ip: string | null;
}

/** The invited account's identity as the accepted session needs it. */
interface Invitee {
  id: string;
  isSystemAdmin: boolean;
  tokenVersion: number;
  created: boolean;
}

/**
 * Accepting is public, but the invitation token only proves that someone read the
 * invitation. It creates a new account for an email nobody has; for an email that already
 * has an account, the caller must also prove to BE that account — its own access token, or
 * its current password (under the login limits) — or nothing changes (401). Otherwise an
 * inviter could invite someone else's email and accept it themselves.
 */
export async function acceptInvitation(db: Database, passwords: PasswordCheckContext, input: AcceptInput) {
  const tokenHash = await sha256Hex(input.token);
  return withSystem(db, async (tx) => {
    const [invitation] = await tx
      .select()
      .from(invitations)
      .where(eq(invitations.tokenHash, tokenHash))
      .for("update")
      .limit(1);
    if (!invitation || invitation.acceptedAt || invitation.revokedAt) {
      throw new Problem("invitation_expired", "This invitation is no longer valid.");
    }
    if (invitation.expiresAt.getTime() <= clock.now())
      throw new Problem("invitation_expired", "This invitation has expired.");
    const [tenant] = await tx
      .select({ id: tenants.id, slug: tenants.slug, name: tenants.name, status: tenants.status })
      .from(tenants)
      .where(eq(tenants.id, invitation.tenantId));
    if (!tenant || tenant.status === "deleted")
      throw new Problem("invitation_expired", "This invitation is no longer valid.");

    const [existing] = await tx
      .select({ id: users.id, isSystemAdmin: users.isSystemAdmin, tokenVersion: users.tokenVersion })
      .from(users)
      .where(eq(users.emailNormalized, normalizedEmail(invitation.email)))
      .limit(1);
    const { user, proof } = existing
      ? {
          user: { ...existing, created: false },
          proof: await proveInvitee(passwords, invitation.email, existing.id, input),
        }
      : { user: await createInvitee(tx, invitation.email, input), proof: "new_account" as const };
    await uniqueName(
      tx.insert(tenantMemberships).values({ tenantId: tenant.id, userId: user.id, role: invitation.role }),
      "You are already a member of this tenant.",
    );
    await tx
      .update(invitations)
      .set({ acceptedAt: new Date(clock.now()) })
      .where(eq(invitations.id, invitation.id));
    await recordAudit(
      tx,
      { principal: invitedUser(user), requestId: input.requestId, ip: input.ip },
      {
        tenantId: tenant.id,
        action: "invitation.accepted",
        targetType: "invitation",
        targetId: invitation.id,
        meta: { proof },
      },
    );
    forgetUserAccess(user.id, tenant.id);
    return { tenant, user, role: invitation.role, newUser: user.created };
  });
}

/** How an existing account proved itself: its own token, or its password. */
async function proveInvitee(
  passwords: PasswordCheckContext,
  email: string,
  userId: string,
  input: AcceptInput,
): Promise<"token" | "password"> {
  if (input.provenUserId !== null) {
    if (input.provenUserId === userId) return "token";
    throw notTheInvitee();
  }
  if (input.password !== undefined) {
    const account = await provePassword(passwords, email, input.password);
    if (account.id === userId) return "password";
  }
  throw notTheInvitee();
}

async function createInvitee(tx: Tx, email: string, input: AcceptInput): Promise<Invitee> {
  // A token of some other account is no way to claim an email that has none.
  if (input.provenUserId !== null) throw notTheInvitee();
  if (input.password === undefined) {
    throw new Problem("validation_failed", "A password is required to create your account.", {
      extensions: {
        errors: [{ path: "password", message: "Required for a new account", code: "invalid_type" }],
      },
    });
  }
  assertPasswordAcceptable(input.password, email);
  const [created] = await tx
    .insert(users)
    .values({
      email,
      name: input.name ?? null,
      passwordHash: await hashPassword(input.password),
    })
    .returning({ id: users.id, isSystemAdmin: users.isSystemAdmin, tokenVersion: users.tokenVersion });
  if (!created) throw new Error("insert returned no user");
  return { ...created, created: true };
}

function invitedUser(user: Invitee): Principal {
  return {
    kind: "user",
    userId: user.id,
    tenant: null,
    tokenVersion: user.tokenVersion,
    issuedAt: Math.floor(clock.now() / 1000),
    mustChangePassword: false,
  };
}

function notTheInvitee(): Problem {
  return new Problem(
    "unauthenticated",
    "This invitation is for an existing account: sign in as that account (send its access token) or give its current password.",
    { headers: { "WWW-Authenticate": 'Bearer realm="tenantry"' } },
  );
}
