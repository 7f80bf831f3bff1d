/**
 * What a route declares about who may call it and which limits apply. `defineRoute` turns
 * the declaration into the route's middleware (`pipeline.ts`), and the OpenAPI document's
 * error responses and the role-matrix tests read the same declaration.
 */
import type { Role } from "../../db/schema";

/** Who may call a route: nobody in particular, any signed-in caller, a system admin, or a tenant role. */
export type Access = PublicAccess | AuthenticatedAccess | UserAccess | SystemAccess | TenantAccess;

export interface PublicAccess {
  kind: "public";
}

export interface AuthenticatedAccess {
  /** Any caller with a credential: a user's token or an API key. */
  kind: "authenticated";
  /** Also accepts a temporary password's token (which every other route refuses). */
  passwordChangeExempt?: boolean;
}

export interface UserAccess {
  /** A signed-in user acting on their own account (an API key has none: 403). */
  kind: "user";
  passwordChangeExempt?: boolean;
}

export interface SystemAccess {
  kind: "system";
  /** Also admits `Authorization: Bearer <METRICS_TOKEN>` (for Prometheus scrapers). */
  metricsToken?: boolean;
}

export interface TenantAccess {
  kind: "tenant";
  role: Role;
  /** The path parameter that names the tenant (`/tenants/{id}/…`), if not the selector. */
  tenantParam?: string;
  /** A system admin may use this write route on a suspended tenant. */
  allowSuspended?: boolean;
  /** A system admin also sees soft-deleted tenants here (to inspect before restore). */
  systemSeesDeleted?: boolean;
  /** A query parameter that selects the tenant (system admins' `?tenant=`). */
  tenantQuery?: string;
  /**
   * A read that writes an audit record: rate-limited before it runs, like a write (other
   * reads run their query while the limiter answers).
   */
  audited?: boolean;
}

/**
 * The limits of routes that are not a tenant's calls (a tenant route is always held to its
 * tenant's hourly budget and its API key's own).
 */
export interface PublicLimits {
  /**
   * The route proves a password: over the login budgets it answers 429 before any hash
   * work, and its handler gets the `passwords` context that counts failures.
   */
  passwordGuesses?: true;
  /** Invitation accepts per client address. */
  invitationAccepts?: true;
}
