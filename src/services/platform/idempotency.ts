/**
 * Idempotent creates. The first request with an `Idempotency-Key` claims the key (a row
 * unique per tenant, route, key and caller: another caller's identical key is a new request,
 * never a replay of someone else's response); its response is stored and replayed to every
 * retry with the same body for 24 h. A different body is 422; a retry while the first is
 * still running is 409. Stored responses can hold one-time secrets (API keys, temporary
 * passwords), so they are sealed with AES-GCM under a key derived from MASTER_KEY.
 */
import { and, eq, sql } from "drizzle-orm";
import { batchAsSystem, batchAsTenant, type HttpDatabase } from "../../db/client";
import { idempotencyKeys } from "../../db/schema";
import { takenClaim, type WriteBatch } from "../../db/write-batch";
import { clock } from "../../lib/clock";
import { fromBase64, sha256Hex, toBase64, utf8 } from "../../lib/encoding";
import { Problem } from "../../lib/problem";
import { masterSubkey, type WebCryptoKey } from "./crypto";

const TTL_MS = 24 * 3600_000;
/** A claim older than this with no stored response belongs to a request that died. */
const STALE_CLAIM_MS = 60_000;
const KEY_FORMAT = /^[\x21-\x7e]{1,255}$/;
const SEAL_INFO = "tenantry/idempotency-response/v1";

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

/** An Idempotency-Key the request carries, to be claimed by the write's own batch. */
export interface PendingClaim {
  /** The record's id, chosen in the Worker so the batch can check that its own insert won. */
  id: string;
  tenantId: string | null;
  principal: string;
  route: string;
  key: string;
  requestHash: string;
  masterKey: string;
  /** Set when a write batch took the claim: the middleware checks that every create did. */
  consumed: boolean;
  /** The database whose batch took it (a dedicated tenant's own, for its resources): where a replay reads it. */
  db?: HttpDatabase;
}

const matching = (claim: PendingClaim) =>
  and(
    sql`coalesce(${idempotencyKeys.tenantId}, '00000000-0000-0000-0000-000000000000'::uuid) = coalesce(${claim.tenantId}::uuid, '00000000-0000-0000-0000-000000000000'::uuid)`,
    eq(idempotencyKeys.route, claim.route),
    eq(idempotencyKeys.key, claim.key),
    eq(idempotencyKeys.principal, claim.principal),
  );

/**
 * Claims the key first thing in the write's batch and stores the write's answer, sealed, as
 * its last statement: the claim and the change commit together, so no other request ever
 * sees a claim without its answer. A key already held fails the batch before anything is
 * written (`IdempotencyClaimTaken`); a concurrent duplicate waits on the unique index until
 * the first commits, then fails the same way and replays its answer.
 */
export function claimInBatch(batch: WriteBatch, claim: PendingClaim): void {
  const now = clock.now();
  claim.consumed = true;
  claim.db = batch.db;
  // Expired records, and claims of a request that died before answering, free the key.
  batch.do(
    batch.db
      .delete(idempotencyKeys)
      .where(
        and(
          matching(claim),
          sql`(${idempotencyKeys.expiresAt} <= ${new Date(now)} or (${idempotencyKeys.statusCode} is null and ${idempotencyKeys.createdAt} <= ${new Date(now - STALE_CLAIM_MS)}))`,
        ),
      ),
  );
  batch.do(
    batch.db
      .insert(idempotencyKeys)
      .values({
        id: claim.id,
        tenantId: claim.tenantId,
        route: claim.route,
        key: claim.key,
        principal: claim.principal,
        requestHash: claim.requestHash,
        createdAt: new Date(now),
        expiresAt: new Date(now + TTL_MS),
      })
      .onConflictDoNothing(),
  );
  batch.failWhen(
    sql`not exists (select 1 from ${idempotencyKeys} where ${idempotencyKeys.id} = ${claim.id})`,
    takenClaim,
  );
  batch.beforeRun(async (b, answer) => {
    if (!answer) throw new Error("an idempotent write must give its answer to the batch");
    const sealed = await seal(claim.masterKey, claim.id, answer.body);
    b.do(
      b.db
        .update(idempotencyKeys)
        .set({ statusCode: answer.status, responseBody: sealed })
        .where(eq(idempotencyKeys.id, claim.id)),
    );
  });
}

export type Stored = { kind: "replay"; status: number; body: unknown } | { kind: "in_progress" };

/**
 * What an earlier request with the key answered (after `IdempotencyClaimTaken`): its answer
 * to replay, 422 when it carried another body, or in progress (it has not committed yet).
 */
export async function storedAnswer(http: HttpDatabase, claim: PendingClaim): Promise<Stored> {
  const query = (db: HttpDatabase) => db.select().from(idempotencyKeys).where(matching(claim)).limit(1);
  const [existing] = claim.tenantId
    ? await batchAsTenant(http, claim.tenantId, query)
    : await batchAsSystem(http, query);
  if (!existing || existing.statusCode === null) return { kind: "in_progress" };
  if (existing.requestHash !== claim.requestHash) {
    throw new Problem(
      "idempotency_key_reused",
      "This Idempotency-Key was used with a different request body.",
    );
  }
  return {
    kind: "replay",
    status: existing.statusCode,
    body: await unseal(claim.masterKey, existing.id, existing.responseBody as string),
  };
}

const sealKeys = new Map<string, Promise<WebCryptoKey>>();

/** The AES-GCM key that seals stored answers, derived from MASTER_KEY. */
function sealKey(masterKey: string): Promise<WebCryptoKey> {
  let key = sealKeys.get(masterKey);
  if (!key) {
    key = masterSubkey(masterKey, SEAL_INFO).then((bits) =>
      crypto.subtle.importKey("raw", bits, { name: "AES-GCM" }, false, ["encrypt", "decrypt"]),
    );
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
