/**
 * A tenant's webhook endpoints: create (answering the signing secret once), list, get, change,
 * delete and rotate the secret. Each write is one batch in the tenant, audited, and a create
 * fits the `webhook_endpoints` count quota. The URL must pass the SSRF rules (url-policy.ts)
 * on create and on every change. Secrets are sealed under the tenant's data key, like
 * credentials; the previous secret of a rotation keeps signing for ROTATION_GRACE_MS.
 */
import { and, eq, type SQL, sql } from "drizzle-orm";
import { batchAsTenant, type HttpDatabase } from "../db/client";
import { tenants, webhookEndpoints } from "../db/schema";
import { WriteBatch } from "../db/write-batch";
import { clock } from "../lib/clock";
import { keyset, type PageQuery, toPage } from "../lib/pagination";
import { Problem } from "../lib/problem";
import { encryptValue } from "../services/platform/crypto";
import { tenantDataKey } from "../services/resources/credentials";
import {
  auditResource,
  requireRow,
  tenantWrite,
  type WriteContext,
} from "../services/resources/tenant-resources";
import { guardCountQuota } from "../services/tenancy/quotas";
import { generateWebhookSecret } from "./signature";
import { checkWebhookUrl } from "./url-policy";

/** How long the previous secret still signs after a rotation. */
export const ROTATION_GRACE_MS = 24 * 3600_000;

const TYPE = "webhook";

type Row = typeof webhookEndpoints.$inferSelect;

export interface EndpointInput {
  url: string;
  events: string[];
  description?: string | null;
  enabled?: boolean;
}

/** Which key seals an endpoint's secret: bound to its tenant and to the endpoint. */
export function secretOwner(tenantId: string, endpointId: string) {
  return { tenantId, credentialId: `webhook-endpoint:${endpointId}` };
}

export function presentEndpoint(row: Row) {
  return {
    id: row.id,
    url: row.url,
    description: row.description,
    events: row.events,
    enabled: row.enabled,
    disabled_reason: row.disabledReason,
    failing_since: row.failingSince?.toISOString() ?? null,
    previous_secret_expires_at: row.previousSecretExpiresAt?.toISOString() ?? null,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}

export type WebhookEndpoint = ReturnType<typeof presentEndpoint>;

const missing = () => new Problem("not_found", "No such webhook endpoint.");
const one = (tenantId: string, id: string) =>
  and(eq(webhookEndpoints.tenantId, tenantId), eq(webhookEndpoints.id, id));

/** The URL as stored, or 400 `validation_failed` on `url` naming the rule it breaks. */
function allowedUrl(write: WriteContext, url: string): string {
  const checked = checkWebhookUrl(url, { allowPrivate: write.config.WEBHOOK_ALLOW_PRIVATE });
  if (checked.ok) return checked.url;
  throw new Problem("validation_failed", `The webhook URL is not allowed: ${checked.message}`, {
    extensions: { errors: [{ path: "url", message: checked.message, code: "url_not_allowed" }] },
  });
}

async function sealSecret(write: WriteContext, endpointId: string, secret: string) {
  const tenantId = write.tenant.id;
  const dataKey = await tenantDataKey(write, tenantId, { create: true });
  return encryptValue(dataKey, secret, secretOwner(tenantId, endpointId));
}

export async function createEndpoint(write: WriteContext, input: EndpointInput) {
  const url = allowedUrl(write, input.url);
  const id = crypto.randomUUID();
  const secret = generateWebhookSecret();
  const sealed = await sealSecret(write, id, secret);
  const now = new Date(clock.now());
  const row: Row = {
    id,
    tenantId: write.tenant.id,
    url,
    description: input.description ?? null,
    events: [...new Set(input.events)],
    enabled: input.enabled ?? true,
    secretCiphertext: sealed.ciphertext,
    secretIv: sealed.iv,
    previousSecretCiphertext: null,
    previousSecretIv: null,
    previousSecretExpiresAt: null,
    failingSince: null,
    disabledReason: null,
    createdAt: now,
    updatedAt: now,
  };
  const batch = tenantWrite(write);
  guardCountQuota(batch, write.tenant, "webhook_endpoints");
  batch.do(batch.db.insert(webhookEndpoints).values(row));
  auditResource(batch, write, TYPE, "created", id, { url, events: row.events });
  const answer = { ...presentEndpoint(row), secret };
  await batch.run({ status: 201, body: answer });
  return answer;
}

export async function listEndpoints(http: HttpDatabase, tenantId: string, query: PageQuery) {
  const page = keyset(webhookEndpoints, query);
  const rows = await batchAsTenant(http, tenantId, (db) =>
    db
      .select()
      .from(webhookEndpoints)
      .where(and(eq(webhookEndpoints.tenantId, tenantId), page.after))
      .orderBy(...page.orderBy)
      .limit(page.take),
  );
  return toPage(rows, query.limit, presentEndpoint);
}

export async function getEndpoint(http: HttpDatabase, tenantId: string, id: string) {
  const [row] = await batchAsTenant(http, tenantId, (db) =>
    db.select().from(webhookEndpoints).where(one(tenantId, id)),
  );
  if (!row) throw missing();
  return presentEndpoint(row);
}

/**
 * Changes what is given. Enabling an endpoint (again) clears why it was disabled and its
 * failure streak, so one that was disabled for failing gets a fresh three days.
 */
export async function updateEndpoint(write: WriteContext, id: string, input: Partial<EndpointInput>) {
  const where = one(write.tenant.id, id);
  const fields: Partial<Row> & { updatedAt: Date } = { updatedAt: new Date(clock.now()) };
  if (input.url !== undefined) fields.url = allowedUrl(write, input.url);
  if (input.events !== undefined) fields.events = [...new Set(input.events)];
  if (input.description !== undefined) fields.description = input.description;
  if (input.enabled !== undefined) fields.enabled = input.enabled;
  if (input.enabled === true) {
    fields.disabledReason = null;
    fields.failingSince = null;
  }
  const batch = tenantWrite(write);
  requireRow(batch, webhookEndpoints, where, missing());
  const updated = batch.add(batch.db.update(webhookEndpoints).set(fields).where(where).returning());
  auditResource(batch, write, TYPE, "updated", id, { fields: Object.keys(input).sort() });
  await batch.run();
  const [row] = updated.value;
  if (!row) throw new Error("update returned no row");
  return presentEndpoint(row);
}

/** Deletes the endpoint and, with it (cascade), its deliveries: pending ones are never sent. */
export async function deleteEndpoint(write: WriteContext, id: string): Promise<void> {
  const where = one(write.tenant.id, id);
  const batch = tenantWrite(write);
  requireRow(batch, webhookEndpoints, where, missing());
  auditResource(batch, write, TYPE, "deleted", id, sql`jsonb_build_object('url', ${urlOf(where)})`);
  batch.do(batch.db.delete(webhookEndpoints).where(where));
  await batch.run();
}

/**
 * A new signing secret, answered once; the outgoing one keeps signing (beside the new one, so
 * a receiver may switch whenever it likes) until `previous_secret_expires_at`. Rotating again
 * within the grace period replaces the previous secret: only the latest two ever sign.
 */
export async function rotateSecret(write: WriteContext, id: string) {
  const where = one(write.tenant.id, id);
  const secret = generateWebhookSecret();
  const sealed = await sealSecret(write, id, secret);
  const graceEnds = new Date(clock.now() + ROTATION_GRACE_MS);
  const batch = tenantWrite(write);
  requireRow(batch, webhookEndpoints, where, missing());
  const updated = batch.add(
    batch.db
      .update(webhookEndpoints)
      .set({
        // The right-hand sides read the row as it was: the outgoing secret.
        previousSecretCiphertext: sql`${webhookEndpoints.secretCiphertext}`,
        previousSecretIv: sql`${webhookEndpoints.secretIv}`,
        previousSecretExpiresAt: graceEnds,
        secretCiphertext: sealed.ciphertext,
        secretIv: sealed.iv,
        updatedAt: new Date(clock.now()),
      })
      .where(where)
      .returning(),
  );
  auditResource(batch, write, TYPE, "secret_rotated", id, {
    previous_secret_expires_at: graceEnds.toISOString(),
  });
  await batch.run();
  const [row] = updated.value;
  if (!row) throw new Error("update returned no row");
  return { ...presentEndpoint(row), secret };
}

function urlOf(where: SQL | undefined): SQL {
  return sql`(select ${webhookEndpoints.url} from ${webhookEndpoints} where ${where})`;
}

/**
 * A dedicated tenant's endpoints are in its own database; the control database keeps whether
 * it has an enabled one (`tenants.has_webhooks`), which its tenant record reads and the relay
 * of its control-database events checks. After a change to its endpoints: set it as it now is.
 */
export async function syncWebhookFlag(
  control: HttpDatabase,
  data: HttpDatabase,
  tenantId: string,
): Promise<void> {
  const [row] = await batchAsTenant(data, tenantId, (db) =>
    db
      .select({
        enabled: sql<boolean>`exists (select 1 from ${webhookEndpoints} e where e.tenant_id = ${tenantId} and e.enabled)`,
      })
      .from(sql`(select 1) as one`),
  );
  const batch = new WriteBatch(control, { tenantId });
  batch.do(
    batch.db
      .update(tenants)
      .set({ hasWebhooks: row?.enabled === true })
      .where(eq(tenants.id, tenantId)),
  );
  await batch.run();
}
