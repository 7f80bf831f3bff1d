/**
 * Secrets the control plane keeps at rest but must open again (an invitation's token until
 * its email is sent, a dedicated database's connection string), sealed with AES-256-GCM under
 * a key derived from MASTER_KEY for one purpose alone. The row the value belongs to is the
 * additional data, so a sealed value copied into another row, or read as another purpose's,
 * does not open. Rotating MASTER_KEY leaves values sealed before it unopenable.
 */
import { fromBase64, toBase64, utf8 } from "../../lib/encoding";
import { DecryptionError, masterSubkey } from "./crypto";

const FORMAT = "v1";
const IV_BYTES = 12;

export interface Sealer<Owner> {
  /** `v1.<iv>.<ciphertext>`, both base64. */
  seal(masterKey: string, owner: Owner, secret: string): Promise<string>;
  open(masterKey: string, owner: Owner, sealed: string): Promise<string>;
}

/**
 * A sealer for one purpose. `fields` names the owner's ids in a fixed order: uuids (fixed
 * length, no NUL), so NUL-joined fields cannot be confused for others.
 */
export function sealer<Owner extends Record<string, string>>(purpose: {
  /** HKDF `info` of the purpose's key. */
  keyInfo: string;
  /** Prefixed to the additional data. */
  label: string;
  fields: readonly (keyof Owner & string)[];
  /** What the refusal says the value was ("the notification's secret"). */
  noun: string;
}): Sealer<Owner> {
  const key = async (masterKey: string) =>
    crypto.subtle.importKey("raw", await masterSubkey(masterKey, purpose.keyInfo), "AES-GCM", false, [
      "encrypt",
      "decrypt",
    ]);
  const aad = (owner: Owner) =>
    utf8([purpose.label, ...purpose.fields.map((field) => String(owner[field]).toLowerCase())].join("\0"));
  return {
    async seal(masterKey, owner, secret) {
      const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
      const sealed = await crypto.subtle.encrypt(
        { name: "AES-GCM", iv, additionalData: aad(owner) },
        await key(masterKey),
        utf8(secret),
      );
      return [FORMAT, toBase64(iv), toBase64(new Uint8Array(sealed))].join(".");
    },
    async open(masterKey, owner, sealed) {
      const [format, iv, ciphertext] = sealed.split(".");
      if (format !== FORMAT || !iv || !ciphertext) throw new DecryptionError(`not ${purpose.noun}`);
      try {
        const plain = await crypto.subtle.decrypt(
          { name: "AES-GCM", iv: fromBase64(iv), additionalData: aad(owner) },
          await key(masterKey),
          fromBase64(ciphertext),
        );
        return new TextDecoder().decode(plain);
      } catch {
        throw new DecryptionError(`${purpose.noun} does not open for this row and master key`);
      }
    },
  };
}
