import type { Context } from "hono";
import { clientIpOf } from "../../lib/client-ip";
import { ACCESS_TOKEN_TTL_S, signAccessToken } from "../../lib/jwt";
import { Problem } from "../../lib/problem";
import type { Handler } from "../../lib/router";
import { ACCEPT_PAGE_PATH, tenantConsoleOrigin } from "../../notifications/invitation-email";
import type { AppBindings } from "../../request-env";
import { authenticate } from "../../services/access/authenticate";
import * as invitations from "../../services/access/invitations";
import { loadCurrentUser } from "../../services/access/user-access";
import { writeContextOf } from "../request-context";
import type * as routes from "./invitations.routes";

export const create: Handler<typeof routes.create> = async (c) => {
  const origin = tenantConsoleOrigin(c.var.config, c.var.tenant.slug, c.req.url);
  const answer = await invitations.createInvitation(writeContextOf(c), c.req.valid("json"), {
    acceptPage: `${origin}${ACCEPT_PAGE_PATH}`,
    outbox: c.var.notifications,
  });
  return c.json(answer, 201);
};

export const list: Handler<typeof routes.list> = async (c) => {
  const { tenant } = c.var;
  return c.json(await invitations.listPendingInvitations(c.var.http, tenant.id, c.req.valid("query")), 200);
};

export const remove: Handler<typeof routes.remove> = async (c) => {
  await invitations.revokeInvitation(writeContextOf(c), c.req.valid("param").id);
  return c.body(null, 204);
};

export const accept: Handler<typeof routes.accept> = async (c) => {
  const { config, http, passwords, requestId } = c.var;
  const accepted = await invitations.acceptInvitation(http, passwords, {
    ...c.req.valid("json"),
    provenUserId: await provenUserOf(c),
    requestId,
    ip: clientIpOf(c),
  });
  const accessToken = await signAccessToken(config, {
    sub: accepted.user.id,
    tenant_id: accepted.tenant.id,
    tenant_slug: accepted.tenant.slug,
    role: accepted.role,
    is_system_admin: accepted.user.isSystemAdmin,
    ver: accepted.user.tokenVersion,
    pwd_change: false,
  });
  return c.json(
    {
      user_id: accepted.user.id,
      membership: { tenant_id: accepted.tenant.id, tenant_slug: accepted.tenant.slug, role: accepted.role },
      access_token: accessToken,
      token_type: "Bearer" as const,
      expires_in: ACCESS_TOKEN_TTL_S,
    },
    200,
  );
};

/**
 * The account a credential on the accept request proves, if one came: a current user access
 * token of any tenant (accepting is tenant-neutral). An API key proves no account, and a bad
 * or revoked token is refused rather than ignored.
 */
async function provenUserOf<E extends AppBindings>(c: Context<E>): Promise<string | null> {
  const principal = await authenticate(c.var.http, c.var.config, {
    authorization: c.req.header("authorization"),
    apiKey: c.req.header("x-api-key"),
  });
  if (!principal) return null;
  if (principal.kind !== "user") {
    throw new Problem(
      "unauthenticated",
      "An API key is no proof of an account: send the user's access token.",
    );
  }
  if (principal.mustChangePassword) {
    throw new Problem("password_change_required", "Change your temporary password first.");
  }
  await loadCurrentUser(c.var.http, principal, null);
  return principal.userId;
}
