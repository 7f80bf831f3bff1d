import { z } from "@hono/zod-openapi";
import { TENANT_STATUSES } from "../../db/schema";
import { jsonContent, jsonRequest } from "../../lib/openapi";
import { defineRoute } from "../route-table";
import { RoleSchema } from "../schemas";

export const MembershipSchema = z
  .object({
    tenant_id: z.uuid(),
    tenant_slug: z.string(),
    tenant_name: z.string(),
    tenant_status: z.enum(TENANT_STATUSES),
    role: RoleSchema,
  })
  .openapi("Membership");

export const SessionSchema = z
  .object({
    access_token: z.string(),
    token_type: z.literal("Bearer"),
    expires_in: z.number().int(),
    tenant: z
      .object({ id: z.uuid(), slug: z.string(), name: z.string(), role: RoleSchema.nullable() })
      .nullable(),
    memberships: z.array(MembershipSchema),
    password_change_required: z.boolean().openapi({
      description:
        "Signed in with a temporary password: the token only works for GET /me, POST /auth/password and POST /auth/logout-all",
    }),
  })
  .openapi("Session");

const TenantSelector = z.string().min(1).max(64).openapi({ description: "Tenant uuid or slug" });

export const LoginBody = z
  .object({
    email: z.email().max(254),
    password: z.string().min(1).max(1024),
    tenant: TenantSelector.optional(),
  })
  .strict()
  .openapi("LoginRequest");

export const login = defineRoute({
  access: { kind: "public" },
  limits: { passwordGuesses: true },
  method: "post",
  path: "/api/v1/auth/login",
  operationId: "login",
  summary: "Exchange email and password for an access token",
  tags: ["auth"],
  request: { body: jsonRequest(LoginBody) },
  // A wrong or expired password, a tenant the user may not enter.
  problems: ["unauthenticated", "forbidden", "tenant_suspended"],
  responses: { 200: jsonContent(SessionSchema, "Signed in") },
});

export const switchTenant = defineRoute({
  access: { kind: "user" },
  method: "post",
  path: "/api/v1/auth/switch",
  operationId: "switchTenant",
  summary: "Get a token for another tenant the user belongs to",
  tags: ["auth"],
  security: [{ bearerJwt: [] }],
  request: {
    body: jsonRequest(z.object({ tenant: TenantSelector }).strict()),
  },
  problems: ["tenant_suspended"],
  responses: { 200: jsonContent(SessionSchema, "New token") },
});

export const changePassword = defineRoute({
  access: { kind: "user", passwordChangeExempt: true },
  // The current password proves the caller: it is held to the login limits.
  limits: { passwordGuesses: true },
  method: "post",
  path: "/api/v1/auth/password",
  operationId: "changePassword",
  summary: "Change your password; every token issued before stops working",
  tags: ["auth"],
  security: [{ bearerJwt: [] }],
  request: {
    body: jsonRequest(
      z
        .object({
          current_password: z.string().min(1).max(1024),
          new_password: z.string().min(1).max(1024).openapi({
            description:
              "12–256 characters, not the account's email, not one of the 10,000 most common passwords",
          }),
        })
        .strict()
        .openapi("ChangePassword"),
    ),
  },
  responses: { 204: { description: "Changed: sign in again with the new password" } },
});

export const logoutAll = defineRoute({
  access: { kind: "user", passwordChangeExempt: true },
  method: "post",
  path: "/api/v1/auth/logout-all",
  operationId: "logoutAll",
  summary: "Sign out everywhere: every token issued so far stops working",
  tags: ["auth"],
  security: [{ bearerJwt: [] }],
  responses: { 204: { description: "Every token of the user is revoked" } },
});
