import { z } from "@hono/zod-openapi";
import { jsonContent, jsonRequest } from "../../lib/openapi";
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
  responses: { 200: jsonContent(pageOf(MemberSchema, "MemberPage"), "A page of members") },
});

const UserIdParam = z.object({
  userId: z.uuid().openapi({ param: { name: "userId", in: "path" } }),
});

export const patch = defineRoute({
  access: { kind: "tenant", role: "admin" },
  method: "patch",
  path: "/api/v1/members/{userId}",
  operationId: "changeMemberRole",
  summary: "Change a member's role; the last admin cannot be demoted",
  tags: ["members"],
  security: tenantSecurity,
  request: {
    params: UserIdParam,
    body: jsonRequest(z.object({ role: RoleSchema }).strict()),
  },
  problems: ["not_found", "last_admin"],
  responses: { 200: jsonContent(MemberSchema, "Updated") },
});

export const remove = defineRoute({
  access: { kind: "tenant", role: "admin" },
  method: "delete",
  path: "/api/v1/members/{userId}",
  operationId: "removeMember",
  summary: "Remove a member; the last admin cannot be removed",
  tags: ["members"],
  security: tenantSecurity,
  request: { params: UserIdParam },
  problems: ["not_found", "last_admin"],
  responses: { 204: { description: "Removed" } },
});
