import { z } from "@hono/zod-openapi";
import { defineRoute } from "../route-table";
import { TenantIdParam, tenantSecurity } from "../schemas";

export const exportTenant = defineRoute({
  access: { kind: "tenant", role: "admin", tenantParam: "id", audited: true },
  feature: "data_export",
  method: "get",
  path: "/api/v1/tenants/{id}/export",
  operationId: "exportTenant",
  summary:
    "The tenant's whole data as an NDJSON stream (tenant, members, invitations, keys, resources, audit)",
  tags: ["tenants"],
  security: tenantSecurity,
  request: { params: TenantIdParam },
  responses: {
    200: {
      description:
        'One JSON object per line: `{"type": "tenant"|"member"|"invitation"|"api_key"|"cluster"|"plugin"|"credential"|"audit_event"|"end", "data": {…}}`. No tokens, no key hashes; credentials stay encrypted.',
      content: { "application/x-ndjson": { schema: z.string() } },
    },
  },
});
