import type { RouteHandler } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AppBindings } from "../../env";
import { ACCESS_TOKEN_TTL_S, signAccessToken } from "../../lib/jwt";
import { Problem } from "../../lib/problem";
import { authenticate } from "../../services/authenticate";
import * as invitations from "../../services/invitations";
import { checkLimit, enforce, PUBLIC_POLICIES } from "../../services/rate-limit";
import { loadCurrentUser } from "../../services/user-access";
import { clientIpOf, passwordCheckContext, tenancyOf, writeContextOf } from "../request-context";
import type * as routes from "./invitations.routes";

export const create: RouteHandler<typeof routes.create, AppBindings> = async (c) => {
  const acceptUrl = new URL("/api/v1/invitations/accept", c.req.url).toString();
  return c.json(await invitations.createInvitation(writeContextOf(c), c.req.valid("json"), acceptUrl), 201);
};

export const list: RouteHandler<typeof routes.list, AppBindings> = async (c) => {
  const { tenant } = tenancyOf(c);
  return c.json(
    await invitations.listPendingInvitations(c.get("http"), tenant.id, c.req.valid("query")),
    200,
  );
};

export const remove: RouteHandler<typeof routes.remove, AppBindings> = async (c) => {
  await invitations.revokeInvitation(writeContextOf(c), c.req.valid("param").id);
  return c.body(null, 204);
};

export const accept: RouteHandler<typeof routes.accept, AppBindings> = async (c) => {
  const config = c.get("config");
  const ip = clientIpOf(c);
  enforce(await checkLimit(config, PUBLIC_POLICIES.acceptIp, ip ?? "unknown"));
  const body = c.req.valid("json");
  const accepted = await invitations.acceptInvitation(c.get("http"), passwordCheckContext(c), {
    ...body,
    provenUserId: await provenUserOf(c),
    requestId: c.get("requestId"),
    ip,
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
async function provenUserOf(c: Context<AppBindings>): Promise<string | null> {
  const principal = await authenticate(c.get("http"), c.get("config"), {
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
  await loadCurrentUser(c.get("http"), principal, null);
  return principal.userId;
}
