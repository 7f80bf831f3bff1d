import type { Role } from "../../db/schema";

/** The tenant a credential belongs to: the JWT's `tenant_id` claim or the API key's tenant. */
export interface CredentialTenant {
  id: string;
  slug: string;
}

/** Who is calling. Roles are not carried here: they are looked up per tenant (and cached). */
export type Principal =
  | {
      kind: "user";
      userId: string;
      /** From the token at issue time; re-checked against the users table on every use. */
      tenant: CredentialTenant | null;
      /** The token's `ver` (null for an external IdP's token) and issue time, for revocation. */
      tokenVersion: number | null;
      issuedAt: number;
      /** A temporary password's token: only GET /me and the password routes accept it. */
      mustChangePassword: boolean;
    }
  | {
      kind: "api_key";
      keyId: string;
      role: Role;
      tenant: CredentialTenant;
      rateLimitPerHour: number | null;
    };

export const ROLE_RANK: Record<Role, number> = { viewer: 0, member: 1, admin: 2 };

export function roleAtLeast(role: Role | null | undefined, required: Role): boolean {
  return role != null && ROLE_RANK[role] >= ROLE_RANK[required];
}

/** The audit log's view of a principal. */
export function actorOf(principal: Principal | undefined): {
  actorType: "user" | "api_key" | "system";
  actorId: string | null;
} {
  if (!principal) return { actorType: "system", actorId: null };
  return principal.kind === "user"
    ? { actorType: "user", actorId: principal.userId }
    : { actorType: "api_key", actorId: principal.keyId };
}

/** `user:<id>` or `api_key:<id>`, for the access log. */
export function actorLabel(principal: Principal): string {
  return principal.kind === "user" ? `user:${principal.userId}` : `api_key:${principal.keyId}`;
}
