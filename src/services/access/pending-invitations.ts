/**
 * Which invitations are pending: neither accepted, revoked nor expired. Shared by the
 * invitations list and the members quota (pending invitations count against it).
 */
import { and, eq, gt, isNull } from "drizzle-orm";
import { invitations } from "../../db/schema";
import { clock } from "../../lib/clock";

/** Invitations of the tenant still waiting to be accepted: neither used, revoked nor expired. */
export function pendingFor(tenantId: string) {
  return and(
    eq(invitations.tenantId, tenantId),
    isNull(invitations.acceptedAt),
    isNull(invitations.revokedAt),
    gt(invitations.expiresAt, new Date(clock.now())),
  );
}
