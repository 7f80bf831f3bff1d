/**
 * API keys: `uk_<slug>_<secret>`. The slug names the tenant (so the key is looked up inside
 * that tenant's RLS scope), the first characters of the secret are a public lookup prefix,
 * and only the SHA-256 of the whole key is stored, compared in constant time.
 */
import { and, eq, isNull, or, sql } from "drizzle-orm";
import { batchAsLookedUpTenant, batchAsTenant, type HttpDatabase, type Queryable } from "../../db/client";
import { apiKeys, type Role, tenants } from "../../db/schema";
import type { WriteBatch } from "../../db/write-batch";
import { clock } from "../../lib/clock";
import { constantTimeEqual, randomBase62, sha256Hex, utf8 } from "../../lib/encoding";
import { keyset, type PageQuery, toPage } from "../../lib/pagination";
import { invalidToken, Problem } from "../../lib/problem";
import { AUTH_CACHE_TTL_MS, TtlCache } from "../../lib/ttl-cache";
import { auditResource, identityWrite, requireRow, type WriteContext } from "../resources/tenant-resources";
import { type AuditContext, auditInsert } from "../tenancy/audit";
import type { PlanSubject } from "../tenancy/plans";
import { guardCountQuota } from "../tenancy/quotas";
import { rememberTenant, SLUG, tenantQuery } from "../tenancy/tenant-directory";
import type { Principal } from "./principal";

const SECRET_LENGTH = 40;
const PREFIX_SECRET_CHARS = 8;
const KEY_FORMAT = /^uk_([a-z0-9-]{3,40})_([0-9A-Za-z]{32,64})$/;
/** `last_used_at` is a hint, not a log: one write per key per minute at most. */
const LAST_USED_WRITE_INTERVAL_MS = 60_000;
/** `app.tenant_id` when a key's slug names no tenant: RLS then shows no api_keys row at all. */
const NIL_UUID = "00000000-0000-0000-0000-000000000000";
/** What the lookup compares against when no row came back: a SHA-256 hex no key hashes to. */
const NO_HASH = "0".repeat(64);
/** The tenant the lookup batch pinned, read back in the query that also filters on it explicitly. */
const KEY_TENANT = sql`(select nullif(current_setting('app.tenant_id', true), ''))::uuid`;

export type ApiKeyRow = typeof apiKeys.$inferSelect;

export function presentApiKey(row: ApiKeyRow) {
  return {
    id: row.id,
    name: row.name,
    role: row.role,
    prefix: row.prefix,
    created_at: row.createdAt.toISOString(),
    expires_at: row.expiresAt?.toISOString() ?? null,
    last_used_at: row.lastUsedAt?.toISOString() ?? null,
    rate_limit_per_hour: row.rateLimitPerHour,
  };
}

interface NewKey {
  key: string;
  prefix: string;
  hash: string;
}

export async function generateKey(slug: string): Promise<NewKey> {
  const secret = randomBase62(SECRET_LENGTH);
  const key = `uk_${slug}_${secret}`;
  return { key, prefix: `uk_${slug}_${secret.slice(0, PREFIX_SECRET_CHARS)}`, hash: await sha256Hex(key) };
}

export function parseKey(key: string): { slug: string; prefix: string } | undefined {
  const match = KEY_FORMAT.exec(key);
  if (!match?.[1] || !match[2] || !SLUG.test(match[1])) return undefined;
  return { slug: match[1], prefix: `uk_${match[1]}_${match[2].slice(0, PREFIX_SECRET_CHARS)}` };
}

export interface NewApiKeyInput {
  tenant: { id: string; slug: string } & PlanSubject;
  name: string;
  role: Role;
  expiresAt: Date | null;
  createdBy: string | null;
  rateLimitPerHour?: number | null;
}

/**
 * Adds a key to a write batch (the tenant's create, or `POST /api-keys`): the quota guard, the
 * row and its audit record. Returns the answer, secret included, decided before the batch runs.
 */
export async function addApiKey(batch: WriteBatch, audit: AuditContext, input: NewApiKeyInput) {
  guardCountQuota(batch, input.tenant, "api_keys");
  const fresh = await generateKey(input.tenant.slug);
  const row: ApiKeyRow = {
    id: crypto.randomUUID(),
    tenantId: input.tenant.id,
    name: input.name,
    role: input.role,
    prefix: fresh.prefix,
    keyHash: fresh.hash,
    previousKeyHash: null,
    previousExpiresAt: null,
    rateLimitPerHour: input.rateLimitPerHour ?? null,
    createdBy: input.createdBy,
    lastUsedAt: null,
    expiresAt: input.expiresAt,
    revokedAt: null,
    createdAt: new Date(clock.now()),
  };
  batch.do(batch.db.insert(apiKeys).values(row));
  batch.do(
    auditInsert(batch.db, audit, {
      tenantId: input.tenant.id,
      action: "api_key.created",
      targetType: "api_key",
      targetId: row.id,
      meta: { name: row.name, role: row.role, prefix: row.prefix },
    }),
  );
  return { ...presentApiKey(row), key: fresh.key };
}

/** `POST /api-keys`: one round trip (quota, row, audit and the Idempotency-Key's record). */
export async function createApiKey(write: WriteContext, input: Omit<NewApiKeyInput, "tenant">) {
  const batch = identityWrite(write);
  const created = await addApiKey(batch, write.audit, { ...input, tenant: write.tenant });
  await batch.run({ status: 201, body: created });
  return created;
}

/** A page of the tenant's live keys, in one round trip. */
export async function listApiKeys(http: HttpDatabase, tenantId: string, query: PageQuery) {
  const rows = await batchAsTenant(http, tenantId, (db) => apiKeysQuery(db, tenantId, query));
  return toPage(rows, query.limit, presentApiKey);
}

/** The query for a page of live keys, unexecuted (for a one-round-trip batch). */
export function apiKeysQuery(db: Queryable, tenantId: string, query: PageQuery) {
  const page = keyset(apiKeys, query);
  return db
    .select()
    .from(apiKeys)
    .where(and(eq(apiKeys.tenantId, tenantId), isNull(apiKeys.revokedAt), page.after))
    .orderBy(...page.orderBy)
    .limit(page.take);
}

const liveKey = (tenantId: string, id: string) =>
  and(eq(apiKeys.tenantId, tenantId), eq(apiKeys.id, id), isNull(apiKeys.revokedAt));
const noSuchKey = () => new Problem("not_found", "No such API key.");

/** Revokes a live key in one round trip; this isolate stops accepting it at once. */
export async function revokeApiKey(write: WriteContext, id: string): Promise<void> {
  const tenantId = write.tenant.id;
  const batch = identityWrite(write);
  requireRow(batch, apiKeys, liveKey(tenantId, id), noSuchKey());
  const revoked = batch.add(
    batch.db
      .update(apiKeys)
      .set({ revokedAt: new Date(clock.now()) })
      .where(liveKey(tenantId, id))
      .returning({ keyHash: apiKeys.keyHash, previousKeyHash: apiKeys.previousKeyHash }),
  );
  auditResource(batch, write, "api_key", "revoked", id, {});
  await batch.run();
  for (const row of revoked.value) forgetHashes(row.keyHash, row.previousKeyHash);
}

/**
 * A new secret for a live key, in one round trip; with a grace period the old secret keeps
 * working until it ends. The row is locked and read (for the hashes this isolate must forget)
 * before the update rewrites it.
 */
export async function rotateApiKey(write: WriteContext, input: { id: string; gracePeriodSeconds: number }) {
  const tenantId = write.tenant.id;
  const fresh = await generateKey(write.tenant.slug);
  const graceEnds =
    input.gracePeriodSeconds > 0 ? new Date(clock.now() + input.gracePeriodSeconds * 1000) : null;
  const batch = identityWrite(write);
  requireRow(batch, apiKeys, liveKey(tenantId, input.id), noSuchKey());
  const before = batch.add(
    batch.db
      .select({ keyHash: apiKeys.keyHash, previousKeyHash: apiKeys.previousKeyHash })
      .from(apiKeys)
      .where(liveKey(tenantId, input.id)),
  );
  const after = batch.add(
    batch.db
      .update(apiKeys)
      .set({
        prefix: fresh.prefix,
        keyHash: fresh.hash,
        // The right-hand side reads the row as it was: the outgoing secret's hash.
        previousKeyHash: graceEnds ? sql`${apiKeys.keyHash}` : null,
        previousExpiresAt: graceEnds,
      })
      .where(liveKey(tenantId, input.id))
      .returning(),
  );
  auditResource(batch, write, "api_key", "rotated", input.id, {
    prefix: fresh.prefix,
    grace_period_seconds: input.gracePeriodSeconds,
  });
  await batch.run();
  for (const row of before.value) forgetHashes(row.keyHash, row.previousKeyHash);
  const [row] = after.value;
  if (!row) throw new Error("update returned no row");
  return { ...presentApiKey(row), key: fresh.key, previous_key_expires_at: graceEnds?.toISOString() ?? null };
}

interface VerifiedKey {
  keyId: string;
  tenantId: string;
  slug: string;
  role: Role;
  rateLimitPerHour: number | null;
  /** The earliest moment this verification stops being valid (expiry or end of grace). */
  validUntil: number | null;
}

/**
 * Keyed by the key's hash, so a revoked key is dropped from this isolate immediately. A
 * refusal (`null`) is cached like a success: whether the slug names no tenant, a deleted one
 * or a live one, a repeated key costs one cache lookup and nothing else.
 */
const verified = new TtlCache<VerifiedKey | null>(AUTH_CACHE_TTL_MS);
const lastUsedWrites = new TtlCache<true>(LAST_USED_WRITE_INTERVAL_MS);

function forgetHashes(...hashes: Array<string | null>): void {
  for (const hash of hashes) if (hash) verified.delete(hash);
}

/**
 * Verifies an API key and returns its principal; any failure is 401 `invalid_token`. Only a
 * key of the wrong shape is refused without a lookup: everything else does the same work,
 * so the answer's timing does not tell a tenant's slug from an unknown one.
 */
export async function authenticateApiKey(
  http: HttpDatabase,
  key: string,
): Promise<Principal & { kind: "api_key" }> {
  const parsed = parseKey(key);
  if (!parsed) throw invalidKey();
  const hash = await sha256Hex(key);
  const hit = await verified.getOrLoad(hash, () => lookUp(http, parsed, hash));
  if (!hit || (hit.validUntil !== null && hit.validUntil <= clock.now())) throw invalidKey();
  return {
    kind: "api_key",
    keyId: hit.keyId,
    role: hit.role,
    tenant: { id: hit.tenantId, slug: hit.slug },
    rateLimitPerHour: hit.rateLimitPerHour,
  };
}

/**
 * One SQL-over-HTTP batch whose statements do not depend on the slug: system scope to read
 * `tenants`, then `app.tenant_id` from the slug (the nil uuid when no tenant has it), then the
 * key row under that tenant's RLS (api_keys has no system-scope policy). The tenant's status
 * is left to tenant resolution, which answers a deleted tenant as an unknown one.
 */
async function lookUp(
  http: HttpDatabase,
  parsed: { slug: string; prefix: string },
  hash: string,
): Promise<VerifiedKey | null> {
  // The prefix of the current secret finds the row; a rotated-out secret is found by its
  // previous hash.
  // The tenant row travels in the same batch: a cold isolate then resolves the request's
  // tenant from its cache instead of a second trip.
  const tenantKey = { slug: parsed.slug };
  const [rows, [tenant]] = await batchAsLookedUpTenant(http, tenantIdOfSlug(parsed.slug), (db) => [
    db
      .select()
      .from(apiKeys)
      .where(
        and(
          eq(apiKeys.tenantId, KEY_TENANT),
          isNull(apiKeys.revokedAt),
          or(eq(apiKeys.prefix, parsed.prefix), eq(apiKeys.previousKeyHash, hash)),
        ),
      )
      .orderBy(sql`${apiKeys.prefix} = ${parsed.prefix} desc`)
      .limit(1),
    tenantQuery(db, tenantKey),
  ]);
  rememberTenant(tenantKey, tenant ?? null);
  const row = rows[0];
  // Compared even without a row, so a miss costs what a wrong secret costs.
  let matches = constantTimeEqual(utf8(hash), utf8(row?.keyHash ?? NO_HASH));
  if (!row) return null;
  const now = clock.now();
  const limits: number[] = [];
  if (row.expiresAt) limits.push(row.expiresAt.getTime());
  if (!matches && row.previousKeyHash && row.previousExpiresAt && row.previousExpiresAt.getTime() > now) {
    matches = constantTimeEqual(utf8(hash), utf8(row.previousKeyHash));
    if (matches) limits.push(row.previousExpiresAt.getTime());
  }
  if (!matches) return null;
  const validUntil = limits.length > 0 ? Math.min(...limits) : null;
  if (validUntil !== null && validUntil <= now) return null;
  return {
    keyId: row.id,
    tenantId: row.tenantId,
    slug: parsed.slug,
    role: row.role,
    rateLimitPerHour: row.rateLimitPerHour,
    validUntil,
  };
}

/** Records use without a write per request: at most once a minute per key and isolate. */
export async function touchLastUsed(
  http: HttpDatabase,
  principal: Principal & { kind: "api_key" },
): Promise<void> {
  if (lastUsedWrites.get(principal.keyId)) return;
  lastUsedWrites.set(principal.keyId, true);
  await batchAsTenant(http, principal.tenant.id, (tx) =>
    tx
      .update(apiKeys)
      .set({ lastUsedAt: new Date(clock.now()) })
      .where(and(eq(apiKeys.tenantId, principal.tenant.id), eq(apiKeys.id, principal.keyId))),
  );
}

export function clearApiKeyCache(): void {
  verified.clear();
  lastUsedWrites.clear();
}

/** The id of the tenant with this slug as text, or the nil uuid: a value either way. */
function tenantIdOfSlug(slug: string) {
  return sql`coalesce((select ${tenants.id} from ${tenants} where ${tenants.slug} = ${slug}), ${NIL_UUID}::uuid)::text`;
}

function invalidKey(): Problem {
  return invalidToken("The API key is not valid.");
}
