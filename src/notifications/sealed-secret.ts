/**
 * The one secret a notification may carry — an invitation's token, which the email's link
 * needs — is stored sealed, never in clear: AES-256-GCM under a key derived from MASTER_KEY
 * for this purpose alone, with the row's tenant and id as additional data, so a sealed value
 * copied into another row does not open. A reader of the table (a backup, a support query)
 * gets no usable token; the consumer opens it just before sending, and the row drops it once
 * it is `sent` or `dead`. Rotating MASTER_KEY leaves values sealed before it unopenable: such
 * a row goes `dead`, and its invitation is revoked and sent again.
 */
import { fromBase64, toBase64, utf8 } from "../lib/encoding";
import { DecryptionError, masterSubkey } from "../services/platform/crypto";

const KEY_INFO = "tenantry notification secret v1";
const AAD_LABEL = "tenantry/notification-secret/v1";
const FORMAT = "v1";
const IV_BYTES = 12;

/** The row a sealed value belongs to: authenticated with it, never part of the ciphertext. */
export interface SealedFor {
  tenantId: string;
  notificationId: string;
}

/** `v1.<iv>.<ciphertext>`, both base64. */
export async function sealSecret(masterKey: string, owner: SealedFor, secret: string): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
  const sealed = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: aad(owner) },
    await sealingKey(masterKey),
    utf8(secret),
  );
  return [FORMAT, toBase64(iv), toBase64(new Uint8Array(sealed))].join(".");
}

export async function openSecret(masterKey: string, owner: SealedFor, sealed: string): Promise<string> {
  const [format, iv, ciphertext] = sealed.split(".");
  if (format !== FORMAT || !iv || !ciphertext) throw new DecryptionError("not a sealed notification secret");
  try {
    const plain = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: fromBase64(iv), additionalData: aad(owner) },
      await sealingKey(masterKey),
      fromBase64(ciphertext),
    );
    return new TextDecoder().decode(plain);
  } catch {
    throw new DecryptionError("the notification's secret does not open for this row and master key");
  }
}

async function sealingKey(masterKey: string) {
  const raw = await masterSubkey(masterKey, KEY_INFO);
  return crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt", "decrypt"]);
}

/** Ids are uuids (fixed length, no NUL), so NUL-joined fields cannot be confused for others. */
function aad(owner: SealedFor): Uint8Array<ArrayBuffer> {
  return utf8(`${AAD_LABEL}\0${owner.tenantId.toLowerCase()}\0${owner.notificationId.toLowerCase()}`);
}
