/**
 * The environments of the request pipeline: each middleware declares what it sets, and a
 * route's middleware list gives its handler the union. A handler reading `c.var.tenant` on a
 * route that does not resolve a tenant does not compile.
 */
import type { HttpDatabase } from "../../db/client";
import type { Bindings } from "../../env";
import type { Variables } from "../../request-env";
import type { Principal } from "../../services/access/principal";
import type { PasswordCheckContext } from "../../services/access/sessions";
import type { TenantDecision } from "../../services/tenancy/tenant-resolution";

/** After `authenticate`: who is calling. */
export interface Authenticated {
  Bindings: Bindings;
  Variables: Variables & { principal: Principal };
}

export type UserPrincipal = Principal & { kind: "user" };

/** After `requireUser`: a signed-in user (an API key was refused), checked against the users table. */
export interface SignedInUser {
  Bindings: Bindings;
  Variables: Variables & { principal: Principal; user: UserPrincipal };
}

/** After `resolveTenant`: the tenant of the request, by the tenancy rules, and the caller's standing in it. */
export interface TenantScoped {
  Bindings: Bindings;
  Variables: Variables & {
    principal: Principal;
    tenancy: TenantDecision;
    tenant: TenantDecision["tenant"];
    /**
     * The database of the tenant's own rows (clusters, plugins, credentials, audit, webhooks,
     * idempotency records): the control database's `http` for a shared tenant, its own for a
     * dedicated one (src/databases/routing.ts). Identity tables are always in `http`.
     */
    data: HttpDatabase;
  };
}

/** After `limitPasswordGuesses`: where a password check runs, under the login limits. */
export interface PasswordChecked {
  Bindings: Bindings;
  Variables: Variables & { passwords: PasswordCheckContext };
}
