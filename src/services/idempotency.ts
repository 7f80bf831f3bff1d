/**
 * Idempotent creates. The first request with an `Idempotency-Key` claims the key (a row
 * unique per tenant, route, key and caller: another caller's identical key is a new request,
 * never a replay of someone else's response); its response is stored and replayed to every
 * retry with the same body for 24 h. A different body is 422; a retry while the first is
 * still running is 409. Stored responses can hold one-time secrets (API keys, temporary
 * passwords), so they are sealed with AES-GCM under a key derived from MASTER_KEY.
 */
import { and, eq, sql } from "drizzle-orm";
import { type Database, withSystem, withTenant } from "../db/client";
import { idempotencyKeys } from "../db/schema";
import { clock } from "../lib/clock";
import { fromBase64, sha256Hex, toBase64, utf8 } from "../lib/encoding";
import { Problem } from "../lib/problem";

const TTL_MS = 24 * 3600_000;
/** A claim older than this with no stored response belongs to a request that died. */
const STALE_CLAIM_MS = 60_000;
const KEY_FORMAT = /^[\x21-\x7e]{1,255}$/;
const SEAL_INFO = "tenantry/idempotency-response/v1";

export type Claim =
  | { kind: "claimed"; id: string }
  | { kind: "replay"; status: number; body: unknown }
  | { kind: "in_progress" };

export function validateKey(key: string): void {
  if (!KEY_FORMAT.test(key)) {
    throw new Problem("validation_failed", "Idempotency-Key must be 1–255 visible ASCII characters.", {
      extensions: { errors: [{ path: "Idempotency-Key", message: "Invalid key", code: "invalid_format" }] },
    });
  }
}

/** A hash of the body that ignores key order, so semantically equal bodies match. */
export async function hashRequest(body: unknown): Promise<string> {
  return sha256Hex(stableStringify(body ?? null));
}

function inScope<T>(db: Database, tenantId: string | null, fn: Parameters<typeof withSystem<T>>[1]) {
  return tenantId ? withTenant(db, tenantId, fn) : withSystem(db, fn);
}

export async function claim(
  db: Database,
  masterKey: string,
  scope: { tenantId: string | null; principal: string; route: string; key: string; requestHash: string },
): Promise<Claim> {
  return inScope(db, scope.tenantId, async (tx) => {
    const now = clock.now();
    const match = and(
      sql`coalesce(${idempotencyKeys.tenantId}, '00000000-0000-0000-0000-000000000000'::uuid) = coalesce(${scope.tenantId}::uuid, '00000000-0000-0000-0000-000000000000'::uuid)`,
      eq(idempotencyKeys.route, scope.route),
      eq(idempotencyKeys.key, scope.key),
      eq(idempotencyKeys.principal, scope.principal),
    );
    // Expired records, and claims abandoned by a request that never finished, free the key.
    await tx
      .delete(idempotencyKeys)
      .where(
        and(
          match,
          sql`(${idempotencyKeys.expiresAt} <= ${new Date(now)} or (${idempotencyKeys.statusCode} is null and ${idempotencyKeys.createdAt} <= ${new Date(now - STALE_CLAIM_MS)}))`,
        ),
      );
    const [inserted] = await tx
      .insert(idempotencyKeys)
      .values({
        tenantId: scope.tenantId,
        route: scope.route,
        key: scope.key,
        principal: scope.principal,
        requestHash: scope.requestHash,
        expiresAt: new Date(now + TTL_MS),
      })
      .onConflictDoNothing()
      .returning({ id: idempotencyKeys.id });
    if (inserted) return { kind: "claimed", id: inserted.id };

    const [existing] = await tx.select().from(idempotencyKeys).where(match).limit(1);
    if (!existing) return { kind: "in_progress" };
    if (existing.requestHash !== scope.requestHash) {
      throw new Problem(
        "idempotency_key_reused",
        "This Idempotency-Key was used with a different request body.",
      );
    }
    if (existing.statusCode === null) return { kind: "in_progress" };
    return {
      kind: "replay",
      status: existing.statusCode,
      body: await unseal(masterKey, existing.id, existing.responseBody as string),
    };
  });
}

export async function complete(
  db: Database,
  masterKey: string,
  tenantId: string | null,
  id: string,
  response: { status: number; body: unknown },
): Promise<void> {
  const sealed = await seal(masterKey, id, response.body);
  await inScope(db, tenantId, (tx) =>
    tx
      .update(idempotencyKeys)
      .set({ statusCode: response.status, responseBody: sealed })
      .where(eq(idempotencyKeys.id, id)),
  );
}

/** A failed first attempt (5xx) must not be replayed: free the key for a retry. */
export async function release(db: Database, tenantId: string | null, id: string): Promise<void> {
  await inScope(db, tenantId, (tx) => tx.delete(idempotencyKeys).where(eq(idempotencyKeys.id, id)));
}

const sealKeys = new Map<string, Promise<CryptoKey>>();

function sealKey(masterKey: string): Promise<CryptoKey> {
  let key = sealKeys.get(masterKey);
  if (!key) {
    key = (async () => {
      const base = await crypto.subtle.importKey("raw", fromBase64(masterKey), "HKDF", false, ["deriveKey"]);
      return crypto.subtle.deriveKey(
        { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info: utf8(SEAL_INFO) },
        base,
        { name: "AES-GCM", length: 256 },
        false,
        ["encrypt", "decrypt"],
      );
    })();
    sealKeys.set(masterKey, key);
  }
  return key;
}

async function seal(masterKey: string, id: string, body: unknown): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const sealed = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: utf8(id) },
    await sealKey(masterKey),
    utf8(JSON.stringify(body)),
  );
  return `${toBase64(iv)}.${toBase64(new Uint8Array(sealed))}`;
}

async function unseal(masterKey: string, id: string, stored: string): Promise<unknown> {
  const [iv, data] = stored.split(".");
  if (!iv || !data) throw new Error("stored idempotent response is malformed");
  const plain = await crypto.subtle.decrypt(
    { name: "AES-GCM", iv: fromBase64(iv), additionalData: utf8(id) },
    await sealKey(masterKey),
    fromBase64(data),
  );
  return JSON.parse(new TextDecoder().decode(plain));
}

function stableStringify(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) =>
      a < b ? -1 : a > b ? 1 : 0,
    );
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableStringify(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}
