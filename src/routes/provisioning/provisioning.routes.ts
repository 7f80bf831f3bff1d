import { z } from "@hono/zod-openapi";
import { JOB_KINDS, JOB_STATUSES } from "../../db/schema";
import { jsonContent } from "../../lib/openapi";
import { PageQuery, pageOf } from "../../lib/pagination";
import { defineRoute } from "../route-table";
import { TenantIdParam, tenantSecurity } from "../schemas";

export const ProvisioningJobSchema = z
  .object({
    id: z.uuid(),
    kind: z.enum(JOB_KINDS),
    status: z.enum(JOB_STATUSES),
    attempts: z.number().int(),
    last_error: z.string().nullable().openapi({ description: "What the last failed attempt reported" }),
    namespace: z.string().openapi({ example: "tenant-acme" }),
    result: z.record(z.string(), z.unknown()).nullable().openapi({
      description:
        "The provisioner's answer (`status`, `namespace`, `applied`, `pruned`); `sent_kind` and `note` when the tenant's current state was applied instead of the job's kind; `skipped` when nothing needed doing",
    }),
    created_at: z.iso.datetime(),
    updated_at: z.iso.datetime(),
    sent_at: z.iso.datetime().nullable(),
    completed_at: z.iso.datetime().nullable(),
  })
  .openapi("ProvisioningJob");

export const list = defineRoute({
  // System admins also follow a deleted tenant's jobs (its deprovision before the purge).
  access: { kind: "tenant", role: "admin", tenantParam: "id", systemSeesDeleted: true },
  method: "get",
  path: "/api/v1/tenants/{id}/provisioning",
  operationId: "listProvisioningJobs",
  summary: "The tenant's provisioning jobs with status, attempts, last error and namespace (oldest first)",
  tags: ["tenants"],
  security: tenantSecurity,
  request: { params: TenantIdParam, query: PageQuery },
  responses: { 200: jsonContent(pageOf(ProvisioningJobSchema, "ProvisioningJobPage"), "A page of jobs") },
});
