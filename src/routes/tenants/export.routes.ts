import { z } from "@hono/zod-openapi";
import { jsonContent } from "../../lib/openapi";
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
        'One JSON object per line: `{"type": "tenant"|"sealed"|"member"|"invitation"|"api_key"|"cluster"|"plugin"|"credential"|"webhook_endpoint"|"audit_event"|"end", "data": {…}}`. No tokens, no key hashes in clear; credentials stay encrypted. `sealed` (second) carries what a restore needs — API key hashes, the data key wrapped under MASTER_KEY, webhook secrets — sealed so that only this deployment can open it (`POST /tenants/{id}/import`).',
      content: { "application/x-ndjson": { schema: z.string() } },
    },
  },
});

export const importTenant = defineRoute({
  access: { kind: "system" },
  method: "post",
  path: "/api/v1/tenants/{id}/import",
  operationId: "importTenant",
  summary:
    "Restore a tenant from its export (NDJSON, streamed, up to 100 MiB): into the same tenant id after a purge, or into another tenant that holds nothing but what its creation made",
  tags: ["tenants"],
  security: [{ bearerJwt: [] }],
  request: {
    params: TenantIdParam,
    body: {
      required: true,
      content: { "application/x-ndjson": { schema: z.string() } },
      description:
        "The export of `GET /tenants/{id}/export`, as it was downloaded: its sealed line opens only in the deployment that made it",
    },
  },
  problems: [
    "tenant_not_found",
    "conflict",
    "slug_taken",
    "tenant_moving",
    "validation_failed",
    "malformed_json",
    "payload_too_large",
    "unsupported_media_type",
  ],
  responses: {
    200: jsonContent(
      z
        .object({
          tenant_id: z.uuid(),
          source_tenant_id: z.uuid(),
          mode: z.enum(["restore", "copy"]).openapi({
            description:
              "`restore`: the same tenant, ids kept; `copy`: another tenant, new ids, secrets re-encrypted",
          }),
          imported: z.record(z.string(), z.number().int()),
          skipped: z.record(z.string(), z.number().int()),
          duration_ms: z.number(),
        })
        .openapi("ImportReport"),
      "Imported; what was and was not",
    ),
  },
});
