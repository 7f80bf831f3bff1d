import type { RouteHandler } from "@hono/zod-openapi";
import { eq } from "drizzle-orm";
import { batchAsSystem } from "../../db/client";
import { users } from "../../db/schema";
import type { AppBindings } from "../../env";
import { Problem } from "../../lib/problem";
import { effectiveFeatures } from "../../services/plans";
import { listMemberships } from "../../services/sessions";
import { findTenant } from "../../services/tenant-directory";
import { loadUserAccess } from "../../services/user-access";
import { principalOf } from "../request-context";
import type * as routes from "./me.routes";

export const me: RouteHandler<typeof routes.me, AppBindings> = async (c) => {
  const http = c.get("http");
  const principal = principalOf(c);
  const credentialTenant = principal.tenant ? await findTenant(http, { id: principal.tenant.id }) : null;
  const tenant =
    credentialTenant && credentialTenant.status !== "deleted"
      ? {
          id: credentialTenant.id,
          slug: credentialTenant.slug,
          name: credentialTenant.name,
          plan: credentialTenant.plan,
          status: credentialTenant.status,
          features: effectiveFeatures(credentialTenant),
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
  const [user] = await batchAsSystem(http, (tx) =>
    tx
      .select({ id: users.id, email: users.email, name: users.name, is_system_admin: users.isSystemAdmin })
      .from(users)
      .where(eq(users.id, principal.userId))
      .limit(1),
  );
  if (!user) throw new Problem("invalid_token", "The token's user no longer exists.");
  const access = tenant ? await loadUserAccess(http, user.id, tenant.id) : null;
  return c.json(
    {
      auth: "jwt" as const,
      user,
      api_key: null,
      tenant,
      role: access?.role ?? null,
      memberships: await listMemberships(http, user.id),
    },
    200,
  );
};
