/**
 * Tenant export as NDJSON: one `{"type", "data"}` object per line — the tenant, then its
 * members, pending and past invitations (no tokens), API keys (no hashes), clusters,
 * plugins, credentials (still encrypted) and audit events. Rows are read in keyset pages
 * and written as they come, so memory stays flat however large the tenant is.
 */
import { and, eq } from "drizzle-orm";
import type { PgColumn, PgTable } from "drizzle-orm/pg-core";
import { batchAsTenant, type HttpDatabase } from "../../db/client";
import { apiKeys, auditEvents, clusters, credentials, invitations, plugins, tenants } from "../../db/schema";
import type { Config } from "../../env";
import { log } from "../../lib/log";
import { encodeCursor, keyset } from "../../lib/pagination";
import { presentApiKey } from "../access/api-keys";
import { presentInvitation } from "../access/invitations";
import { membersPage } from "../access/members";
import { auditResource, tenantWrite, type WriteContext } from "../resources/tenant-resources";
import { presentAuditEvent } from "./audit-events";
import { presentTenant } from "./tenants";

const PAGE_SIZE = 500;

type Row = Record<string, unknown> & { createdAt: Date; id: string };

interface Section {
  type: string;
  table: PgTable & { tenantId: PgColumn; createdAt: PgColumn; id: PgColumn };
  present: (row: never) => unknown;
}

const SECTIONS: Section[] = [
  { type: "invitation", table: invitations, present: presentInvitation },
  { type: "api_key", table: apiKeys, present: presentApiKey },
  { type: "cluster", table: clusters, present: presentRow },
  { type: "plugin", table: plugins, present: presentRow },
  { type: "credential", table: credentials, present: presentRow },
  { type: "audit_event", table: auditEvents, present: presentAuditEvent },
];

/**
 * Records the export (one round trip, before any data leaves), then streams the tenant.
 * Pages are SQL-over-HTTP reads: no connection is held open while the client reads slowly.
 */
export async function exportTenant(write: WriteContext): Promise<ReadableStream<Uint8Array>> {
  const batch = tenantWrite(write);
  auditResource(batch, write, "tenant", "exported", write.tenant.id, {});
  await batch.run();
  return streamExport(write.http, write.config, write.tenant.id);
}

function streamExport(http: HttpDatabase, config: Config, tenantId: string): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let counts: Record<string, number> = {};
  return new ReadableStream<Uint8Array>({
    async start(controller) {
      const write = (type: string, data: unknown) => {
        counts[type] = (counts[type] ?? 0) + 1;
        controller.enqueue(encoder.encode(`${JSON.stringify({ type, data })}\n`));
      };
      try {
        const [tenant] = await batchAsTenant(http, tenantId, (db) =>
          db.select().from(tenants).where(eq(tenants.id, tenantId)),
        );
        if (tenant) write("tenant", presentTenant(tenant, config.RETENTION_DAYS));
        let cursor: string | undefined;
        do {
          const page = await membersPage(http, tenantId, { limit: PAGE_SIZE, cursor });
          for (const member of page.data) write("member", member);
          cursor = page.next_cursor ?? undefined;
        } while (cursor);
        for (const section of SECTIONS) await exportSection(http, tenantId, section, write);
        write("end", { counts });
        controller.close();
      } catch (err) {
        log("error", "export failed", {
          tenant_id: tenantId,
          error: err instanceof Error ? err.message : String(err),
        });
        controller.error(err);
      } finally {
        counts = {};
      }
    },
  });
}

async function exportSection(
  http: HttpDatabase,
  tenantId: string,
  section: Section,
  write: (type: string, data: unknown) => void,
): Promise<void> {
  let cursor: string | undefined;
  do {
    const page = keyset(section.table, { limit: PAGE_SIZE, cursor });
    const rows = (await batchAsTenant(http, tenantId, (db) =>
      db
        .select()
        .from(section.table)
        .where(and(eq(section.table.tenantId, tenantId), page.after))
        .orderBy(...page.orderBy)
        .limit(PAGE_SIZE),
    )) as Row[];
    for (const row of rows) write(section.type, section.present(row as never));
    const last = rows[rows.length - 1];
    cursor = rows.length === PAGE_SIZE && last ? encodeCursor(last) : undefined;
  } while (cursor);
}

/** Snake-case keys, ISO dates: the shape the API uses. Credentials keep only ciphertext. */
function presentRow(row: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(row).map(([key, value]) => [
      key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`),
      value instanceof Date ? value.toISOString() : value,
    ]),
  );
}
