import { z } from "@hono/zod-openapi";
import { jsonContent } from "../../lib/openapi";
import { MembershipSchema } from "../auth/auth.routes";
import { defineRoute } from "../route-table";
import { RoleSchema } from "../schemas";

export const MeSchema = z
  .object({
    auth: z.enum(["jwt", "api_key"]),
    user: z
      .object({
        id: z.uuid(),
        email: z.string(),
        name: z.string().nullable(),
        is_system_admin: z.boolean(),
        must_change_password: z
          .boolean()
          .openapi({ description: "Signed in with a temporary password: POST /auth/password first" }),
      })
      .nullable(),
    api_key: z.object({ id: z.uuid(), role: RoleSchema }).nullable(),
    tenant: z
      .object({
        id: z.uuid(),
        slug: z.string(),
        name: z.string(),
        plan: z.string(),
        status: z.string(),
        features: z.record(z.string(), z.boolean()).openapi({ description: "Effective feature flags" }),
      })
      .nullable(),
    role: RoleSchema.nullable(),
    memberships: z.array(MembershipSchema),
  })
  .openapi("Me");

export const me = defineRoute({
  access: { kind: "authenticated", passwordChangeExempt: true },
  method: "get",
  path: "/api/v1/me",
  operationId: "getMe",
  summary: "The caller: user or API key, current tenant, role and memberships",
  tags: ["auth"],
  security: [{ bearerJwt: [] }, { apiKey: [] }],
  // The credential's tenant goes through the tenancy rules, as on tenant routes.
  problems: ["tenant_suspended", "tenant_not_found"],
  responses: { 200: jsonContent(MeSchema, "The caller") },
});
