/**
 * Envelope encryption for credentials, on WebCrypto alone (Workers and Node 22 both have it).
 *
 * MASTER_KEY (32 bytes, base64) wraps one random AES-256 data key per tenant; each value is
 * sealed with its tenant's data key. Both layers are AES-256-GCM with a fresh 96-bit IV and
 * additional authenticated data naming the owner: the wrapped key is bound to its tenant, a
 * value to its tenant and credential. A ciphertext or wrapped key copied into another row or
 * tenant therefore fails authentication instead of decrypting. Rotating MASTER_KEY re-wraps
 * data keys only; values are never re-encrypted.
 *
 * Pure functions over bytes and keys: the database lives in `credentials.ts`.
 */
import { fromBase64, toBase64, toHex, utf8 } from "../../lib/encoding";

const KEY_BYTES = 32;
const IV_BYTES = 12;
const AES_GCM = "AES-GCM";
/** Domain-separation labels, versioned so a future format can coexist with this one. */
const MASTER_ID_LABEL = "tenantry/master-key-id/v1";
const DATA_KEY_AAD = "tenantry/tenant-data-key/v1";
const VALUE_AAD = "tenantry/credential-value/v1";

/** WebCrypto's key, as each runtime declares it (Workers globally, Node under `webcrypto`). */
export type WebCryptoKey = Awaited<ReturnType<typeof crypto.subtle.importKey>>;

export interface MasterKey {
  key: WebCryptoKey;
  /** A fingerprint stored beside each wrapped key: says which master key wrapped it, reveals nothing. */
  id: string;
}

export interface WrappedDataKey {
  wrappedKey: string;
  wrapIv: string;
  masterKeyId: string;
}

export interface SealedValue {
  ciphertext: string;
  iv: string;
}

/** Who a sealed value belongs to; authenticated with it, never stored in the ciphertext. */
export interface ValueOwner {
  tenantId: string;
  credentialId: string;
}

/** A failed unwrap or decrypt: wrong key, tampered bytes, or bytes moved to another owner. */
export class DecryptionError extends Error {
  override name = "DecryptionError";
}

export async function importMasterKey(base64: string): Promise<MasterKey> {
  let raw: Uint8Array<ArrayBuffer>;
  try {
    raw = fromBase64(base64.trim());
  } catch {
    throw new Error("MASTER_KEY is not valid base64");
  }
  if (raw.byteLength !== KEY_BYTES) {
    throw new Error(`MASTER_KEY must decode to ${KEY_BYTES} bytes, not ${raw.byteLength}`);
  }
  const fingerprint = await crypto.subtle.digest("SHA-256", concat(utf8(`${MASTER_ID_LABEL}\0`), raw));
  const key = await crypto.subtle.importKey("raw", raw, AES_GCM, false, ["wrapKey", "unwrapKey"]);
  return { key, id: `mk_${toHex(new Uint8Array(fingerprint)).slice(0, 16)}` };
}

/** A fresh tenant data key; extractable only so that it can be wrapped. */
export function generateDataKey(): Promise<WebCryptoKey> {
  return crypto.subtle.generateKey({ name: AES_GCM, length: KEY_BYTES * 8 }, true, [
    "encrypt",
    "decrypt",
  ]) as Promise<WebCryptoKey>;
}

export async function wrapDataKey(
  master: MasterKey,
  dataKey: WebCryptoKey,
  tenantId: string,
): Promise<WrappedDataKey> {
  const iv = randomIv();
  const wrapped = await crypto.subtle.wrapKey("raw", dataKey, master.key, {
    name: AES_GCM,
    iv,
    additionalData: dataKeyAad(tenantId),
  });
  return { wrappedKey: toBase64(new Uint8Array(wrapped)), wrapIv: toBase64(iv), masterKeyId: master.id };
}

/**
 * The tenant's data key, usable for encrypt/decrypt. `extractable` is only for re-wrapping
 * under a new master key; keys used for values stay non-extractable.
 */
export async function unwrapDataKey(
  master: MasterKey,
  wrapped: WrappedDataKey,
  tenantId: string,
  opts: { extractable?: boolean } = {},
): Promise<WebCryptoKey> {
  if (wrapped.masterKeyId !== master.id) {
    throw new DecryptionError(
      `the data key is wrapped by master key ${wrapped.masterKeyId}, not ${master.id}`,
    );
  }
  try {
    return await crypto.subtle.unwrapKey(
      "raw",
      fromBase64(wrapped.wrappedKey),
      master.key,
      { name: AES_GCM, iv: fromBase64(wrapped.wrapIv), additionalData: dataKeyAad(tenantId) },
      AES_GCM,
      opts.extractable ?? false,
      ["encrypt", "decrypt"],
    );
  } catch {
    throw new DecryptionError("the tenant data key does not unwrap for this tenant and master key");
  }
}

/** Moves a wrapped data key from one master key to another; the data key itself is unchanged. */
export async function rewrapDataKey(
  from: MasterKey,
  to: MasterKey,
  wrapped: WrappedDataKey,
  tenantId: string,
): Promise<WrappedDataKey> {
  const dataKey = await unwrapDataKey(from, wrapped, tenantId, { extractable: true });
  return wrapDataKey(to, dataKey, tenantId);
}

export async function encryptValue(
  dataKey: WebCryptoKey,
  value: string,
  owner: ValueOwner,
): Promise<SealedValue> {
  const iv = randomIv();
  const sealed = await crypto.subtle.encrypt(
    { name: AES_GCM, iv, additionalData: valueAad(owner) },
    dataKey,
    utf8(value),
  );
  return { ciphertext: toBase64(new Uint8Array(sealed)), iv: toBase64(iv) };
}

export async function decryptValue(
  dataKey: WebCryptoKey,
  sealed: SealedValue,
  owner: ValueOwner,
): Promise<string> {
  let plain: ArrayBuffer;
  try {
    plain = await crypto.subtle.decrypt(
      { name: AES_GCM, iv: fromBase64(sealed.iv), additionalData: valueAad(owner) },
      dataKey,
      fromBase64(sealed.ciphertext),
    );
  } catch {
    throw new DecryptionError("the credential does not decrypt for this tenant and credential id");
  }
  return new TextDecoder().decode(plain);
}

function randomIv(): Uint8Array<ArrayBuffer> {
  return crypto.getRandomValues(new Uint8Array(IV_BYTES));
}

/** Ids are uuids (fixed length, no NUL), so NUL-joined fields cannot be confused for others. */
function dataKeyAad(tenantId: string): Uint8Array<ArrayBuffer> {
  return utf8(`${DATA_KEY_AAD}\0${tenantId.toLowerCase()}`);
}

function valueAad(owner: ValueOwner): Uint8Array<ArrayBuffer> {
  return utf8(`${VALUE_AAD}\0${owner.tenantId.toLowerCase()}\0${owner.credentialId.toLowerCase()}`);
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a, 0);
  out.set(b, a.byteLength);
  return out;
}

const subkeys = new Map<string, Promise<ArrayBuffer>>();

/**
 * A 256-bit key for one purpose, derived from MASTER_KEY by HKDF-SHA-256 with the purpose as
 * `info`, so a feature needs no secret of its own; cached per isolate.
 */
export function masterSubkey(masterKey: string, info: string): Promise<ArrayBuffer> {
  const cacheKey = `${info}\u0000${masterKey}`;
  let key = subkeys.get(cacheKey);
  if (!key) {
    key = (async () => {
      const base = await crypto.subtle.importKey("raw", fromBase64(masterKey), "HKDF", false, ["deriveBits"]);
      return crypto.subtle.deriveBits(
        { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info: utf8(info) },
        base,
        256,
      );
    })();
    subkeys.set(cacheKey, key);
  }
  return key;
}
