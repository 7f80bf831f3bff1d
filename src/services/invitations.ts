/**
 * Invitations: a random token (shown once, stored as its SHA-256) that lets one email join a
 * tenant with a role within 7 days. Pending invitations count against the members quota.
 */
import { and, eq, gt, isNull, sql } from "drizzle-orm";
import { type Database, type Queryable, type Tx, withSystem } from "../db/client";
import { invitations, type Role, tenantMemberships, tenants, users } from "../db/schema";
import { clock } from "../lib/clock";
import { randomBase62, sha256Hex } from "../lib/encoding";
import { keyset, type PageQuery } from "../lib/pagination";
import { hashPassword } from "../lib/passwords";
import { Problem } from "../lib/problem";
import { type AuditContext, recordAudit } from "./audit";
import type { PlanSubject } from "./plans";
import { enforceCountQuota } from "./quotas";
import { uniqueName } from "./unique-names";

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
  const [member] = await tx
    .select({ userId: tenantMemberships.userId })
    .from(tenantMemberships)
    .innerJoin(users, eq(users.id, tenantMemberships.userId))
    .where(
      and(
        eq(tenantMemberships.tenantId, input.tenant.id),
        sql`lower(${users.email}) = lower(${input.email})`,
      ),
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
        sql`lower(${invitations.email}) = lower(${input.email})`,
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
        email: input.email,
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

/** Invitations of the tenant still waiting to be accepted: neither used, revoked nor expired. */
export function pendingFor(tenantId: string) {
  return and(
    eq(invitations.tenantId, tenantId),
    isNull(invitations.acceptedAt),
    isNull(invitations.revokedAt),
    gt(invitations.expiresAt, new Date(clock.now())),
  );
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
  requestId: string;
  ip: string | null;
}

/**
 * Accepting is public: the token is the credential. A new email becomes a user (a password
 * is then required); an existing user just gains the membership and keeps their password.
 */
export async function acceptInvitation(db: Database, input: AcceptInput) {
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

    const user = await findOrCreateUser(tx, invitation.email, input);
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
      {
        principal: { kind: "user", userId: user.id, tenant: null },
        requestId: input.requestId,
        ip: input.ip,
      },
      {
        tenantId: tenant.id,
        action: "invitation.accepted",
        targetType: "invitation",
        targetId: invitation.id,
      },
    );
    return { tenant, user, role: invitation.role, newUser: user.created };
  });
}

async function findOrCreateUser(tx: Tx, email: string, input: AcceptInput) {
  const [existing] = await tx
    .select({ id: users.id })
    .from(users)
    .where(sql`lower(${users.email}) = lower(${email})`)
    .limit(1);
  if (existing) return { id: existing.id, created: false };
  if (!input.password) {
    throw new Problem("validation_failed", "A password is required to create your account.", {
      extensions: {
        errors: [{ path: "password", message: "Required for a new account", code: "invalid_type" }],
      },
    });
  }
  const [created] = await tx
    .insert(users)
    .values({ email, name: input.name ?? null, passwordHash: await hashPassword(input.password) })
    .returning({ id: users.id });
  if (!created) throw new Error("insert returned no user");
  return { id: created.id, created: true };
}
