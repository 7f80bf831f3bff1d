import { Problem } from "../../lib/problem";
import type { Handler } from "../../lib/router";
import { accountOf, listMemberships } from "../../services/access/sessions";
import { effectiveFeatures } from "../../services/tenancy/plans";
import { resolveTenant } from "../../services/tenancy/tenant-resolution";
import type * as routes from "./me.routes";

/**
 * The caller's own view. The credential's tenant goes through the same tenancy rules as
 * every tenant route (a suspended tenant is 403, a deleted one 404), and a user who is no
 * longer a member of it (nor a system admin) is shown no tenant at all.
 */
export const me: Handler<typeof routes.me> = async (c) => {
  const http = c.var.http;
  const principal = c.var.principal;
  const decision = principal.tenant ? await resolveTenant(http, principal, {}, { readOnly: true }) : null;
  const visible = decision && (decision.role !== null || decision.isSystemAdmin) ? decision : null;
  const tenant = visible
    ? {
        id: visible.tenant.id,
        slug: visible.tenant.slug,
        name: visible.tenant.name,
        plan: visible.tenant.plan,
        status: visible.tenant.status,
        features: effectiveFeatures(visible.tenant),
      }
    : null;

  if (principal.kind === "api_key") {
    return c.json(
      {
        auth: "api_key" as const,
        user: null,
        api_key: { id: principal.keyId, role: principal.role },
        tenant,
        role: principal.role,
        memberships: [],
      },
      200,
    );
  }
  const [user, memberships] = await Promise.all([
    accountOf(http, principal.userId),
    listMemberships(http, principal.userId),
  ]);
  if (!user) throw new Problem("invalid_token", "The token's user no longer exists.");
  return c.json(
    { auth: "jwt" as const, user, api_key: null, tenant, role: visible?.role ?? null, memberships },
    200,
  );
};
