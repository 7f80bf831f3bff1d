import type { RouteHandler } from "@hono/zod-openapi";
import { batchAsTenant, withTenant } from "../../db/client";
import type { AppBindings } from "../../env";
import { ACCESS_TOKEN_TTL_S, signAccessToken } from "../../lib/jwt";
import { toPage } from "../../lib/pagination";
import * as invitations from "../../services/invitations";
import { checkLimit, enforce, PUBLIC_POLICIES } from "../../services/rate-limit";
import { auditContextOf, clientIpOf, tenancyOf, userIdOf } from "../request-context";
import type * as routes from "./invitations.routes";

export const create: RouteHandler<typeof routes.create, AppBindings> = async (c) => {
  const { tenant } = tenancyOf(c);
  const body = c.req.valid("json");
  const created = await withTenant(c.get("db"), tenant.id, (tx) =>
    invitations.createInvitation(tx, auditContextOf(c), {
      tenant,
      email: body.email,
      role: body.role,
      invitedBy: userIdOf(c),
    }),
  );
  return c.json(created, 201);
};

export const list: RouteHandler<typeof routes.list, AppBindings> = async (c) => {
  const { tenant } = tenancyOf(c);
  const query = c.req.valid("query");
  const rows = await batchAsTenant(c.get("http"), tenant.id, (db) =>
    invitations.pendingInvitationsQuery(db, tenant.id, query),
  );
  return c.json(toPage(rows, query.limit, invitations.presentInvitation), 200);
};

export const remove: RouteHandler<typeof routes.remove, AppBindings> = async (c) => {
  const { tenant } = tenancyOf(c);
  await withTenant(c.get("db"), tenant.id, (tx) =>
    invitations.revokeInvitation(tx, auditContextOf(c), tenant.id, c.req.valid("param").id),
  );
  return c.body(null, 204);
};

export const accept: RouteHandler<typeof routes.accept, AppBindings> = async (c) => {
  const config = c.get("config");
  const ip = clientIpOf(c);
  enforce(await checkLimit(config, PUBLIC_POLICIES.acceptIp, ip ?? "unknown"));
  const body = c.req.valid("json");
  const accepted = await invitations.acceptInvitation(c.get("db"), {
    ...body,
    requestId: c.get("requestId"),
    ip,
  });
  const accessToken = await signAccessToken(config, {
    sub: accepted.user.id,
    tenant_id: accepted.tenant.id,
    tenant_slug: accepted.tenant.slug,
    role: accepted.role,
    is_system_admin: false,
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
