import { z } from "@hono/zod-openapi";
import { jsonContent, problemResponses } from "../../lib/openapi";
import { PageQuery, pageOf } from "../../lib/pagination";
import { defineRoute } from "../route-table";
import { RoleSchema, tenantSecurity } from "../schemas";

export const MemberSchema = z
  .object({
    user_id: z.uuid(),
    email: z.string(),
    name: z.string().nullable(),
    role: RoleSchema,
    joined_at: z.iso.datetime(),
  })
  .openapi("Member");

export const list = defineRoute({
  access: { kind: "tenant", role: "viewer" },
  method: "get",
  path: "/api/v1/members",
  operationId: "listMembers",
  summary: "Members of the resolved tenant",
  tags: ["members"],
  security: tenantSecurity,
  request: { query: PageQuery },
  responses: {
    200: jsonContent(pageOf(MemberSchema, "MemberPage"), "A page of members"),
    ...problemResponses(400, 401, 403, 404),
  },
});
