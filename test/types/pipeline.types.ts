/**
 * Compile-time proofs of the typed pipeline, checked by `npm run typecheck` (never run): a
 * handler sees only what its route's declared access establishes. Each `@ts-expect-error`
 * fails the typecheck if the line under it ever compiles.
 */
import { z } from "@hono/zod-openapi";
import { jsonContent } from "../../src/lib/openapi";
import type { Handler } from "../../src/lib/router";
import { defineRoute } from "../../src/routes/route-table";

const ok = { 200: jsonContent(z.object({ id: z.string() }), "ok") };

const publicRoute = defineRoute({
  access: { kind: "public" },
  method: "get",
  path: "/types/public",
  responses: ok,
});
const userRoute = defineRoute({
  access: { kind: "user" },
  method: "get",
  path: "/types/user",
  responses: ok,
});
const tenantRoute = defineRoute({
  access: { kind: "tenant", role: "viewer" },
  method: "get",
  path: "/types/tenant",
  responses: ok,
});
const loginLike = defineRoute({
  access: { kind: "public" },
  limits: { passwordGuesses: true },
  method: "post",
  path: "/types/login",
  responses: ok,
});

export const forgetsTenant: Handler<typeof publicRoute> = async (c) =>
  // @ts-expect-error a public route resolves no tenant
  c.json({ id: c.var.tenant.id }, 200);

export const userForgetsTenant: Handler<typeof userRoute> = async (c) =>
  // @ts-expect-error a user route resolves no tenant either
  c.json({ id: c.var.tenant.id }, 200);

export const publicHasNoCaller: Handler<typeof publicRoute> = async (c) =>
  // @ts-expect-error nobody authenticated the caller of a public route
  c.json({ id: c.var.principal.kind }, 200);

export const tenantHasNoUser: Handler<typeof tenantRoute> = async (c) =>
  // @ts-expect-error an API key may call a tenant route: there is no `user`
  c.json({ id: c.var.user.userId }, 200);

export const undeclaredLimit: Handler<typeof publicRoute> = async (c) =>
  // @ts-expect-error only a route declaring `passwordGuesses` may check a password
  c.json({ id: String(c.var.passwords.ip) }, 200);

// What each route does establish compiles without a check or a cast.
export const tenantSees: Handler<typeof tenantRoute> = async (c) =>
  c.json({ id: `${c.var.tenant.id}:${c.var.tenancy.role}:${c.var.principal.kind}` }, 200);
export const userSees: Handler<typeof userRoute> = async (c) => c.json({ id: c.var.user.userId }, 200);
export const loginSees: Handler<typeof loginLike> = async (c) =>
  c.json({ id: String(c.var.passwords.ip) }, 200);
