import { z } from "@hono/zod-openapi";
import { jsonContent } from "../../lib/openapi";
import { PageQuery, pageOf } from "../../lib/pagination";
import { defineRoute } from "../route-table";
import { tenantSecurity } from "../schemas";

export const AuditEventSchema = z
  .object({
    id: z.uuid(),
    tenant_id: z.uuid().nullable(),
    actor_type: z.enum(["user", "api_key", "system"]),
    actor_id: z.string().nullable(),
    action: z.string(),
    target_type: z.string().nullable(),
    target_id: z.string().nullable(),
    request_id: z.string().nullable(),
    ip: z.string().nullable(),
    meta: z.record(z.string(), z.unknown()),
    created_at: z.iso.datetime(),
  })
  .openapi("AuditEvent");

export const list = defineRoute({
  access: { kind: "tenant", role: "admin", tenantQuery: "tenant" },
  method: "get",
  path: "/api/v1/audit-events",
  operationId: "listAuditEvents",
  summary: "Who did what, when, from which request (system admins select a tenant with ?tenant=)",
  tags: ["audit"],
  security: tenantSecurity,
  request: {
    query: PageQuery.extend({
      tenant: z.string().max(64).optional().openapi({ description: "Tenant uuid or slug (system admins)" }),
      action: z.string().max(100).optional(),
      actor: z.string().max(100).optional(),
      since: z.iso.datetime({ offset: true }).optional(),
    }),
  },
  responses: { 200: jsonContent(pageOf(AuditEventSchema, "AuditEventPage"), "A page of events") },
});
