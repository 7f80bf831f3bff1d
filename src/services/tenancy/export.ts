/**
 * Tenant export as NDJSON: one `{"type", "data"}` object per line — the tenant, the sealed
 * restore bundle (restore-bundle.ts: what a restore needs and only this deployment may read),
 * then its members, pending and past invitations (no tokens), API keys (no hashes), clusters,
 * plugins, credentials (still encrypted), webhook endpoints (no secrets) and audit events. Rows are read in keyset pages
 * and written as they come, so memory stays flat however large the tenant is.
 *
 * Identity rows (the tenant, members, invitations, API keys) are in the control database;
 * resources in the database of the tenant's own rows; a dedicated tenant's audit trail is in
 * both, and its pages are the two merged in keyset order.
 */
import { and, eq } from "drizzle-orm";
import type { PgColumn, PgTable } from "drizzle-orm/pg-core";
import { batchAsTenant, type HttpDatabase, readAsTenant } from "../../db/client";
import {
  apiKeys,
  auditEvents,
  clusters,
  credentials,
  invitations,
  plugins,
  tenantKeys,
  tenants,
  webhookEndpoints,
} from "../../db/schema";
import type { Config } from "../../env";
import { log } from "../../lib/log";
import { encodeCursor, keyset } from "../../lib/pagination";
import { presentEndpoint } from "../../webhooks/endpoints";
import { presentApiKey } from "../access/api-keys";
import { presentInvitation } from "../access/invitations";
import { membersPage } from "../access/members";
import { auditResource, tenantWrite, type WriteContext } from "../resources/tenant-resources";
import { mergeByKey, presentAuditEvent } from "./audit-events";
import { BUNDLE_VERSION, type RestoreBundle, sealBundle } from "./restore-bundle";
import { presentTenant } from "./tenants";

const PAGE_SIZE = 500;

type Row = Record<string, unknown> & { createdAt: Date; id: string };

/** Which databases hold a section's rows: identity ones, the tenant's own, or both (audit). */
type Home = "control" | "data" | "both";

interface Section {
  type: string;
  table: PgTable & { tenantId: PgColumn; createdAt: PgColumn; id: PgColumn };
  home: Home;
  present: (row: never) => unknown;
}

const SECTIONS: Section[] = [
  { type: "invitation", table: invitations, home: "control", present: presentInvitation },
  { type: "api_key", table: apiKeys, home: "control", present: presentApiKey },
  { type: "cluster", table: clusters, home: "data", present: presentRow },
  { type: "plugin", table: plugins, home: "data", present: presentRow },
  { type: "credential", table: credentials, home: "data", present: presentRow },
  { type: "webhook_endpoint", table: webhookEndpoints, home: "data", present: presentEndpoint },
  { type: "audit_event", table: auditEvents, home: "both", present: presentAuditEvent },
];

interface Databases {
  http: HttpDatabase;
  data: HttpDatabase;
}

/** The databases to read a section from: one, or two for a dedicated tenant's audit trail. */
function databasesOf(dbs: Databases, home: Home): HttpDatabase[] {
  if (home === "control") return [dbs.http];
  if (home === "data" || dbs.data === dbs.http) return [dbs.data];
  return [dbs.data, dbs.http];
}

/**
 * Records the export (one round trip, before any data leaves), then streams the tenant.
 * Pages are SQL-over-HTTP reads: no connection is held open while the client reads slowly.
 */
export async function exportTenant(write: WriteContext): Promise<ReadableStream<Uint8Array>> {
  const batch = tenantWrite(write);
  auditResource(batch, write, "tenant", "exported", write.tenant.id, {});
  await batch.run();
  return streamExport(write, write.config, write.tenant.id);
}

function streamExport(dbs: Databases, config: Config, tenantId: string): ReadableStream<Uint8Array> {
  const { http } = dbs;
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
        write("sealed", { sealed: await sealBundle(config.MASTER_KEY, await restoreBundle(dbs, tenantId)) });
        let cursor: string | undefined;
        do {
          const page = await membersPage(http, tenantId, { limit: PAGE_SIZE, cursor });
          for (const member of page.data) write("member", member);
          cursor = page.next_cursor ?? undefined;
        } while (cursor);
        for (const section of SECTIONS)
          await exportSection(databasesOf(dbs, section.home), tenantId, section, write);
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

/**
 * The section's rows in keyset order, a page at a time: each database's next page past the
 * last row written, merged, and the first PAGE_SIZE of that written. While any database
 * answered a full page there may be more.
 */
async function exportSection(
  databases: HttpDatabase[],
  tenantId: string,
  section: Section,
  write: (type: string, data: unknown) => void,
): Promise<void> {
  let cursor: string | undefined;
  do {
    const page = keyset(section.table, { limit: PAGE_SIZE, cursor });
    const pages = await Promise.all(
      databases.map(
        (http) =>
          batchAsTenant(http, tenantId, (db) =>
            db
              .select()
              .from(section.table)
              .where(and(eq(section.table.tenantId, tenantId), page.after))
              .orderBy(...page.orderBy)
              .limit(PAGE_SIZE),
          ) as Promise<Row[]>,
      ),
    );
    const rows = pages.reduce<Row[]>((merged, rows) => mergeByKey(merged, rows), []).slice(0, PAGE_SIZE);
    for (const row of rows) write(section.type, section.present(row as never));
    const last = rows[rows.length - 1];
    cursor = pages.some((rows) => rows.length === PAGE_SIZE) && last ? encodeCursor(last) : undefined;
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

/**
 * What a restore needs that the readable lines leave out (restore-bundle.ts): the wrapped data
 * key and the API key hashes from the control database, the webhook endpoints with their
 * encrypted secrets from the tenant's own. A tenant has at most its quotas of each.
 */
async function restoreBundle(dbs: Databases, tenantId: string): Promise<RestoreBundle> {
  const [[identity, key], endpoints] = await Promise.all([
    readAsTenant(dbs.http, tenantId, (db) => [
      db.select().from(apiKeys).where(eq(apiKeys.tenantId, tenantId)).orderBy(apiKeys.createdAt, apiKeys.id),
      db.select().from(tenantKeys).where(eq(tenantKeys.tenantId, tenantId)),
    ]),
    batchAsTenant(dbs.data, tenantId, (db) =>
      db
        .select()
        .from(webhookEndpoints)
        .where(eq(webhookEndpoints.tenantId, tenantId))
        .orderBy(webhookEndpoints.createdAt, webhookEndpoints.id),
    ),
  ]);
  const iso = (value: Date | null) => value?.toISOString() ?? null;
  const tenantKey = key[0];
  return {
    v: BUNDLE_VERSION,
    tenant_id: tenantId,
    tenant_key: tenantKey
      ? { wrapped_key: tenantKey.wrappedKey, wrap_iv: tenantKey.wrapIv, master_key_id: tenantKey.masterKeyId }
      : null,
    api_keys: identity.map((row) => ({
      id: row.id,
      name: row.name,
      role: row.role,
      prefix: row.prefix,
      key_hash: row.keyHash,
      previous_key_hash: row.previousKeyHash,
      previous_expires_at: iso(row.previousExpiresAt),
      rate_limit_per_hour: row.rateLimitPerHour,
      created_by: row.createdBy,
      last_used_at: iso(row.lastUsedAt),
      expires_at: iso(row.expiresAt),
      revoked_at: iso(row.revokedAt),
      created_at: row.createdAt.toISOString(),
    })),
    webhook_endpoints: endpoints.map((row) => ({
      id: row.id,
      url: row.url,
      description: row.description,
      events: row.events,
      enabled: row.enabled,
      secret_ciphertext: row.secretCiphertext,
      secret_iv: row.secretIv,
      previous_secret_ciphertext: row.previousSecretCiphertext,
      previous_secret_iv: row.previousSecretIv,
      previous_secret_expires_at: iso(row.previousSecretExpiresAt),
      failing_since: iso(row.failingSince),
      disabled_reason: row.disabledReason,
      created_at: row.createdAt.toISOString(),
      updated_at: row.updatedAt.toISOString(),
    })),
  };
}
