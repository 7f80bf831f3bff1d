/** Schemas shared by several resources. */
import { z } from "@hono/zod-openapi";
import { ROLES } from "../db/schema";

export const RoleSchema = z.enum(ROLES).openapi("Role");

export const IdParam = z.object({
  id: z
    .uuid()
    .openapi({ param: { name: "id", in: "path" }, example: "0193a5d2-7c1e-7b7a-9f4e-2d9c1b8e4a10" }),
});

export const TenantIdParam = z.object({
  id: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: "id", in: "path" }, description: "Tenant uuid or slug", example: "acme" }),
});

export const tenantSecurity: Array<Record<string, string[]>> = [{ bearerJwt: [] }, { apiKey: [] }];
