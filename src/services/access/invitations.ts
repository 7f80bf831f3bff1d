/**
 * Invitations: a random token (stored as its SHA-256, sent to the invitee by email) that lets
 * one email join a tenant with a role within 7 days. Pending invitations count against the
 * members quota.
 */
import { and, eq, gt, isNull, lte, ne, sql } from "drizzle-orm";
import { batchAsSystem, batchAsTenant, type HttpDatabase } from "../../db/client";
import { invitations, normalizedEmail, type Role, tenantMemberships, tenants, users } from "../../db/schema";
import { WriteBatch } from "../../db/write-batch";
import { clock } from "../../lib/clock";
import { randomBase62, sha256Hex } from "../../lib/encoding";
import { keyset, type PageQuery, toPage } from "../../lib/pagination";
import { assertPasswordAcceptable } from "../../lib/password-policy";
import { hashPassword } from "../../lib/passwords";
import { Problem } from "../../lib/problem";
import { type InvitationPayload, invitationLink } from "../../notifications/invitation-email";
import { type NotificationOutbox, notificationInsert } from "../../notifications/outbox";
import { auditResource, identityWrite, requireRow, type WriteContext } from "../resources/tenant-resources";
import { uniqueName } from "../resources/unique-names";
import { auditInsert } from "../tenancy/audit";
import { guardCountQuota } from "../tenancy/quotas";
import { pendingFor } from "./pending-invitations";
import type { Principal } from "./principal";
import { type PasswordCheckContext, provePassword } from "./sessions";
import { forgetUserAccess } from "./user-access";

const TTL_MS = 7 * 86_400_000;
const TOKEN_PREFIX = "inv_";

type InvitationRow = typeof invitations.$inferSelect;

/** An invitation's email in the comparison form of `users.email_normalized` (and of its unique index). */
const invitedEmail = sql`lower(normalize(${invitations.email}, NFKC))`;

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

export interface InvitationInput {
  email: string;
  role: Role;
}

/** How a new invitation reaches its invitee. */
export interface InvitationDelivery {
  /** The accept page on the tenant's console host (`tenantConsoleOrigin` + ACCEPT_PAGE_PATH). */
  acceptPage: string;
  /** Where the invitation email goes once the batch has committed. */
  outbox: NotificationOutbox;
}

/**
 * Invites `input.email` in one round trip: the members quota (members + pending
 * invitations), "already a member", an expired invitation for the email retired, the new
 * one, its email in the notifications outbox (the token sealed) and its audit record. A
 * pending invitation for the email is refused by the unique index. The token and every
 * value are decided here, so the answer (the token included, when it is delivered in it) is
 * known before the batch runs and an idempotent retry replays it, sending no second email.
 * The email is queued once the batch has committed; the token reaches the invitee in it.
 */
export async function createInvitation(
  write: WriteContext,
  input: InvitationInput,
  delivery: InvitationDelivery,
) {
  const tenantId = write.tenant.id;
  const email = input.email.trim();
  const now = clock.now();
  const token = `${TOKEN_PREFIX}${randomBase62(40)}`;
  const row: InvitationRow = {
    id: crypto.randomUUID(),
    tenantId,
    email,
    role: input.role,
    tokenHash: await sha256Hex(token),
    invitedBy: write.userId,
    expiresAt: new Date(now + TTL_MS),
    acceptedAt: null,
    revokedAt: null,
    createdAt: new Date(now),
  };
  const batch = identityWrite(write);
  guardCountQuota(batch, write.tenant, "members");
  batch.failWhen(
    sql`exists (select 1 from ${tenantMemberships} join ${users} on ${users.id} = ${tenantMemberships.userId} where ${and(eq(tenantMemberships.tenantId, tenantId), eq(users.emailNormalized, normalizedEmail(email)))})`,
    { code: "conflict", detail: "That email is already a member of this tenant." },
  );
  // An expired invitation for the same email is retired so a new one can be sent.
  batch.do(
    batch.db
      .update(invitations)
      .set({ revokedAt: new Date(now) })
      .where(
        and(
          eq(invitations.tenantId, tenantId),
          eq(invitedEmail, normalizedEmail(email)),
          isNull(invitations.acceptedAt),
          isNull(invitations.revokedAt),
          lte(invitations.expiresAt, new Date(now)),
        ),
      ),
  );
  batch.do(batch.db.insert(invitations).values(row));
  const payload: InvitationPayload = {
    invitation_id: row.id,
    tenant_name: write.tenant.name,
    tenant_slug: write.tenant.slug,
    role: row.role,
    expires_at: row.expiresAt.toISOString(),
    accept_page: delivery.acceptPage,
  };
  const message = await notificationInsert(batch.db, write.config.MASTER_KEY, {
    tenantId,
    channel: "email",
    recipient: email,
    template: "invitation",
    payload,
    secret: token,
  });
  batch.do(message.insert);
  auditResource(batch, write, "invitation", "created", row.id, { email: row.email, role: row.role });
  // Only development and tests hand the token to the inviter; elsewhere only the invitee's email has it.
  const inAnswer =
    write.config.INVITATION_DELIVERY === "response"
      ? { token, accept_url: invitationLink(delivery.acceptPage, token) }
      : {};
  const answer = { invitation: presentInvitation(row), ...inAnswer };
  await uniqueName(batch.run({ status: 201, body: answer }), "That email already has a pending invitation.");
  delivery.outbox.sendAfterCommit([message]);
  return answer;
}

/** A page of the tenant's pending invitations, in one round trip. */
export async function listPendingInvitations(http: HttpDatabase, tenantId: string, query: PageQuery) {
  const page = keyset(invitations, query);
  const rows = await batchAsTenant(http, tenantId, (db) =>
    db
      .select()
      .from(invitations)
      .where(and(pendingFor(tenantId), page.after))
      .orderBy(...page.orderBy)
      .limit(page.take),
  );
  return toPage(rows, query.limit, presentInvitation);
}

/** Revokes a pending (not yet accepted or revoked) invitation, in one round trip. */
export async function revokeInvitation(write: WriteContext, id: string): Promise<void> {
  const tenantId = write.tenant.id;
  const batch = identityWrite(write);
  const where = and(
    eq(invitations.tenantId, tenantId),
    eq(invitations.id, id),
    isNull(invitations.acceptedAt),
    isNull(invitations.revokedAt),
  );
  requireRow(batch, invitations, where, new Problem("not_found", "No such pending invitation."));
  batch.do(
    batch.db
      .update(invitations)
      .set({ revokedAt: new Date(clock.now()) })
      .where(where),
  );
  auditResource(batch, write, "invitation", "revoked", id, {});
  await batch.run();
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
 *
 * The invitation, its tenant and the account are read in one round trip; the proof (a
 * password check, with the login limits' own trips) or the new account's password hash is
 * worked out in the Worker, holding no lock; then the join is one batch whose guards
 * re-check what the read found, under the invitation's row lock: a concurrent accept, a
 * revocation, an expiry or an account appearing or changing meanwhile fails it, and nothing
 * is written.
 */
export async function acceptInvitation(
  http: HttpDatabase,
  passwords: PasswordCheckContext,
  input: AcceptInput,
) {
  const tokenHash = await sha256Hex(input.token);
  const [found] = await batchAsSystem(http, (db) =>
    db
      .select({
        invitation: invitations,
        tenant: { id: tenants.id, slug: tenants.slug, name: tenants.name, status: tenants.status },
        account: { id: users.id, isSystemAdmin: users.isSystemAdmin, tokenVersion: users.tokenVersion },
      })
      .from(invitations)
      .leftJoin(tenants, eq(tenants.id, invitations.tenantId))
      .leftJoin(users, eq(users.emailNormalized, invitedEmail))
      .where(eq(invitations.tokenHash, tokenHash))
      .limit(1),
  );
  const invitation = found?.invitation;
  if (!invitation || invitation.acceptedAt || invitation.revokedAt) throw noLongerValid();
  if (invitation.expiresAt.getTime() <= clock.now())
    throw new Problem("invitation_expired", "This invitation has expired.");
  const tenant = found.tenant;
  if (!tenant || tenant.status === "deleted") throw noLongerValid();

  const batch = new WriteBatch(http, { system: true });
  const now = new Date(clock.now());
  batch.do(sql`select 1 from ${invitations} where ${eq(invitations.id, invitation.id)} for update`);
  batch.failWhen(
    sql`not exists (select 1 from ${invitations} join ${tenants} on ${tenants.id} = ${invitations.tenantId} where ${and(eq(invitations.id, invitation.id), isNull(invitations.acceptedAt), isNull(invitations.revokedAt), gt(invitations.expiresAt, now), ne(tenants.status, "deleted"))})`,
    { code: "invitation_expired", detail: noLongerValid().message },
  );
  const { user, proof } = found.account
    ? {
        user: { ...found.account, created: false },
        proof: await proveInvitee(passwords, invitation.email, found.account.id, input),
      }
    : { user: await createInvitee(batch, invitation.email, input), proof: "new_account" as const };
  if (!user.created) {
    batch.failWhen(
      sql`not exists (select 1 from ${users} where ${and(eq(users.id, user.id), eq(users.emailNormalized, normalizedEmail(invitation.email)))})`,
      { code: "conflict", detail: "The invited account changed meanwhile; try again." },
    );
  }
  batch.failWhen(
    sql`exists (select 1 from ${tenantMemberships} where ${and(eq(tenantMemberships.tenantId, tenant.id), eq(tenantMemberships.userId, user.id))})`,
    { code: "conflict", detail: "You are already a member of this tenant." },
  );
  batch.do(
    batch.db
      .insert(tenantMemberships)
      .values({ tenantId: tenant.id, userId: user.id, role: invitation.role }),
  );
  batch.do(batch.db.update(invitations).set({ acceptedAt: now }).where(eq(invitations.id, invitation.id)));
  const acceptor = { principal: invitedUser(user), requestId: input.requestId, ip: input.ip };
  batch.do(
    auditInsert(batch.db, acceptor, {
      tenantId: tenant.id,
      action: "invitation.accepted",
      targetType: "invitation",
      targetId: invitation.id,
      meta: { proof },
    }),
  );
  batch.do(
    auditInsert(batch.db, acceptor, {
      tenantId: tenant.id,
      action: "member.added",
      targetType: "user",
      targetId: user.id,
      meta: { role: invitation.role, invitation_id: invitation.id },
    }),
  );
  // The guards name what they find; a unique index only fails a request that raced them.
  await uniqueName(batch.run(), "A concurrent request joined this account or created it; try again.");
  forgetUserAccess(user.id, tenant.id);
  return { tenant, user, role: invitation.role, newUser: user.created };
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

/** Adds the new account to the batch, after a guard that no account took the email meanwhile. */
async function createInvitee(batch: WriteBatch, email: string, input: AcceptInput): Promise<Invitee> {
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
  const invitee = { id: crypto.randomUUID(), isSystemAdmin: false, tokenVersion: 0, created: true };
  const passwordHash = await hashPassword(input.password);
  batch.failWhen(
    sql`exists (select 1 from ${users} where ${eq(users.emailNormalized, normalizedEmail(email))})`,
    {
      code: "conflict",
      detail: "An account with this email was created meanwhile; accept again as that account.",
    },
  );
  batch.do(
    batch.db.insert(users).values({
      id: invitee.id,
      email,
      name: input.name ?? null,
      passwordHash,
      isSystemAdmin: invitee.isSystemAdmin,
      tokenVersion: invitee.tokenVersion,
    }),
  );
  return invitee;
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

function noLongerValid(): Problem {
  return new Problem("invitation_expired", "This invitation is no longer valid.");
}

function notTheInvitee(): Problem {
  return new Problem(
    "unauthenticated",
    "This invitation is for an existing account: sign in as that account (send its access token) or give its current password.",
    { headers: { "WWW-Authenticate": 'Bearer realm="tenantry"' } },
  );
}
