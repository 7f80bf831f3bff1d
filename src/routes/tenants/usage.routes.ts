import { z } from "@hono/zod-openapi";
import { jsonContent } from "../../lib/openapi";
import { QUOTAS } from "../../services/tenancy/plans";
import { defineRoute } from "../route-table";
import { TenantIdParam, tenantSecurity } from "../schemas";

const QuotaUsageSchema = z.object({
  limit: z.number().int(),
  used: z
    .number()
    .int()
    .nullable()
    .openapi({ description: "null where use is tracked by the cluster, not the API" }),
});

export const UsageSchema = z
  .object({
    tenant_id: z.uuid(),
    quotas: z.object(
      Object.fromEntries(QUOTAS.map((q) => [q, QuotaUsageSchema])) as Record<
        (typeof QUOTAS)[number],
        typeof QuotaUsageSchema
      >,
    ),
    requests_per_hour: z
      .array(z.object({ hour: z.iso.datetime(), requests: z.number().int() }))
      .openapi({ description: "Requests of the last 24 hours, per hour, oldest first (from the metrics)" }),
  })
  .openapi("TenantUsage");

export const usage = defineRoute({
  access: { kind: "tenant", role: "viewer", tenantParam: "id" },
  method: "get",
  path: "/api/v1/tenants/{id}/usage",
  operationId: "getTenantUsage",
  summary: "Every quota of the tenant with its limit and current use",
  tags: ["tenants"],
  security: tenantSecurity,
  request: { params: TenantIdParam },
  responses: { 200: jsonContent(UsageSchema, "Usage") },
});
