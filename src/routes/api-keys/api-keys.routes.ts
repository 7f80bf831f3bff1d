import { z } from "@hono/zod-openapi";
import { jsonContent, jsonRequest } from "../../lib/openapi";
import { PageQuery, pageOf } from "../../lib/pagination";
import { defineRoute } from "../route-table";
import { IdParam, RoleSchema, tenantSecurity } from "../schemas";

export const ApiKeySchema = z
  .object({
    id: z.uuid(),
    name: z.string(),
    role: RoleSchema,
    prefix: z.string(),
    created_at: z.iso.datetime(),
    expires_at: z.iso.datetime().nullable(),
    last_used_at: z.iso.datetime().nullable(),
    rate_limit_per_hour: z.number().int().nullable(),
  })
  .openapi("ApiKey");

export const NewApiKeySchema = ApiKeySchema.extend({
  key: z.string().openapi({ description: "`uk_<slug>_<secret>`; shown once, never again" }),
}).openapi("NewApiKey");

const CreateBody = z
  .object({
    name: z.string().trim().min(1).max(100),
    role: RoleSchema,
    expires_at: z.iso
      .datetime({ offset: true })
      .refine((v) => Date.parse(v) > Date.now(), { message: "expires_at must be in the future" })
      .optional(),
    rate_limit_per_hour: z
      .number()
      .int()
      .min(1)
      .max(10_000_000)
      .optional()
      .openapi({ description: "This key's own hourly budget, on top of the tenant's" }),
  })
  .strict()
  .openapi("CreateApiKey");

const RotateBody = z
  .object({
    grace_period_seconds: z
      .number()
      .int()
      .min(0)
      .max(7 * 24 * 3600)
      .default(0)
      .openapi({ description: "How long the old secret keeps working (0 = revoked at once)" }),
  })
  .strict();

const adminOnly = { kind: "tenant", role: "admin" } as const;

export const create = defineRoute({
  access: adminOnly,
  method: "post",
  path: "/api/v1/api-keys",
  operationId: "createApiKey",
  summary: "Create an API key (the key is shown once)",
  tags: ["api-keys"],
  security: tenantSecurity,
  request: { body: jsonRequest(CreateBody) },
  problems: ["quota_exceeded"],
  responses: { 201: jsonContent(NewApiKeySchema, "Created") },
});

export const list = defineRoute({
  access: adminOnly,
  method: "get",
  path: "/api/v1/api-keys",
  operationId: "listApiKeys",
  summary: "List the tenant's API keys (never their secrets)",
  tags: ["api-keys"],
  security: tenantSecurity,
  request: { query: PageQuery },
  responses: { 200: jsonContent(pageOf(ApiKeySchema, "ApiKeyPage"), "A page of keys") },
});

export const remove = defineRoute({
  access: adminOnly,
  method: "delete",
  path: "/api/v1/api-keys/{id}",
  operationId: "revokeApiKey",
  summary: "Revoke an API key (effective everywhere within 30 s)",
  tags: ["api-keys"],
  security: tenantSecurity,
  request: { params: IdParam },
  problems: ["not_found"],
  responses: { 204: { description: "Revoked" } },
});

export const rotate = defineRoute({
  access: adminOnly,
  method: "post",
  path: "/api/v1/api-keys/{id}/rotate",
  operationId: "rotateApiKey",
  summary: "Issue a new secret; the old one may stay valid for a grace period",
  tags: ["api-keys"],
  security: tenantSecurity,
  request: {
    params: IdParam,
    body: { required: false, content: { "application/json": { schema: RotateBody } } },
  },
  problems: ["not_found"],
  responses: {
    200: jsonContent(
      NewApiKeySchema.extend({ previous_key_expires_at: z.iso.datetime().nullable() }).openapi(
        "RotatedApiKey",
      ),
      "Rotated",
    ),
  },
});
