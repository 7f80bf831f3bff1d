/** A tenant's provisioning jobs as the API shows them (`GET /api/v1/tenants/{id}/provisioning`). */
import { namespaceName } from "@tenantry/contract";
import { and, eq } from "drizzle-orm";
import { batchAsTenant, type HttpDatabase } from "../../db/client";
import { provisioningJobs } from "../../db/schema";
import { keyset, type PageQuery, toPage } from "../../lib/pagination";

type JobRow = typeof provisioningJobs.$inferSelect;

/** A page of the tenant's jobs, newest first, in one round trip. */
export async function listProvisioningJobs(
  http: HttpDatabase,
  tenant: { id: string; slug: string },
  query: PageQuery,
) {
  const page = keyset(provisioningJobs, query);
  const rows = await batchAsTenant(http, tenant.id, (db) =>
    db
      .select()
      .from(provisioningJobs)
      .where(and(eq(provisioningJobs.tenantId, tenant.id), page.after))
      .orderBy(...page.orderBy)
      .limit(page.take),
  );
  return toPage(rows, query.limit, (row) => presentJob(row, namespaceName(tenant.slug)));
}

function presentJob(row: JobRow, namespace: string) {
  return {
    id: row.id,
    kind: row.kind,
    status: row.status,
    attempts: row.attempts,
    last_error: row.lastError,
    namespace,
    result: row.result,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
    sent_at: row.sentAt?.toISOString() ?? null,
    completed_at: row.completedAt?.toISOString() ?? null,
  };
}
