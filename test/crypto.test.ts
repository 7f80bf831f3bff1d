import { describe, expect, it } from "vitest";
import { fromBase64, toBase64 } from "../src/lib/encoding";
import {
  DecryptionError,
  decryptValue,
  encryptValue,
  generateDataKey,
  importMasterKey,
  rewrapDataKey,
  unwrapDataKey,
  wrapDataKey,
} from "../src/services/platform/crypto";

/** The envelope format, unit by unit, in the Workers runtime's own WebCrypto. */
const TENANT_A = "0193a5d2-7c1e-7b7a-9f4e-2d9c1b8e4a10";
const TENANT_B = "0193a5d2-7c1e-7b7a-9f4e-2d9c1b8e4a11";
const CREDENTIAL = "0193a5d2-7c1e-7b7a-9f4e-2d9c1b8e4a20";

const randomMaster = () => importMasterKey(toBase64(crypto.getRandomValues(new Uint8Array(32))));

async function tenantKey(tenantId = TENANT_A) {
  const master = await randomMaster();
  const wrapped = await wrapDataKey(master, await generateDataKey(), tenantId);
  return { master, wrapped, dataKey: await unwrapDataKey(master, wrapped, tenantId) };
}

describe("credential envelope encryption", () => {
  it("round-trips a value, whitespace and non-ASCII included", async () => {
    const { dataKey } = await tenantKey();
    const value = "  line one\nzweite Zeile: ü€😀\t ";
    const sealed = await encryptValue(dataKey, value, { tenantId: TENANT_A, credentialId: CREDENTIAL });
    expect(fromBase64(sealed.iv).byteLength).toBe(12);
    expect(await decryptValue(dataKey, sealed, { tenantId: TENANT_A, credentialId: CREDENTIAL })).toBe(value);
  });

  it("uses a fresh IV each time, so equal values never give equal ciphertexts", async () => {
    const { dataKey } = await tenantKey();
    const owner = { tenantId: TENANT_A, credentialId: CREDENTIAL };
    const [one, two] = await Promise.all([
      encryptValue(dataKey, "same", owner),
      encryptValue(dataKey, "same", owner),
    ]);
    expect(one.iv).not.toBe(two.iv);
    expect(one.ciphertext).not.toBe(two.ciphertext);
  });

  it("binds a value to its tenant and its credential id", async () => {
    const { dataKey } = await tenantKey();
    const sealed = await encryptValue(dataKey, "secret", { tenantId: TENANT_A, credentialId: CREDENTIAL });
    for (const owner of [
      { tenantId: TENANT_B, credentialId: CREDENTIAL },
      { tenantId: TENANT_A, credentialId: TENANT_B },
    ]) {
      await expect(decryptValue(dataKey, sealed, owner)).rejects.toBeInstanceOf(DecryptionError);
    }
  });

  it("refuses a tampered ciphertext", async () => {
    const { dataKey } = await tenantKey();
    const owner = { tenantId: TENANT_A, credentialId: CREDENTIAL };
    const sealed = await encryptValue(dataKey, "secret", owner);
    const bytes = fromBase64(sealed.ciphertext);
    bytes[0] = (bytes[0] ?? 0) ^ 1;
    await expect(decryptValue(dataKey, { ...sealed, ciphertext: toBase64(bytes) }, owner)).rejects.toThrow(
      DecryptionError,
    );
  });

  it("binds a wrapped data key to its tenant", async () => {
    const { master, wrapped } = await tenantKey(TENANT_A);
    await expect(unwrapDataKey(master, wrapped, TENANT_B)).rejects.toBeInstanceOf(DecryptionError);
  });

  it("refuses to unwrap under another master key, even with a forged master key id", async () => {
    const { wrapped } = await tenantKey();
    const other = await randomMaster();
    await expect(unwrapDataKey(other, wrapped, TENANT_A)).rejects.toThrow(/wrapped by master key/);
    await expect(unwrapDataKey(other, { ...wrapped, masterKeyId: other.id }, TENANT_A)).rejects.toThrow(
      DecryptionError,
    );
  });

  it("keeps data keys used for values non-extractable", async () => {
    const { dataKey } = await tenantKey();
    expect(dataKey.extractable).toBe(false);
    await expect(crypto.subtle.exportKey("raw", dataKey)).rejects.toThrow();
  });

  it("re-wraps a data key under a new master key without touching values", async () => {
    const { master, wrapped, dataKey } = await tenantKey();
    const owner = { tenantId: TENANT_A, credentialId: CREDENTIAL };
    const sealed = await encryptValue(dataKey, "survives rotation", owner);
    const next = await randomMaster();
    const rewrapped = await rewrapDataKey(master, next, wrapped, TENANT_A);
    expect(rewrapped.masterKeyId).toBe(next.id);
    const rotatedKey = await unwrapDataKey(next, rewrapped, TENANT_A);
    expect(await decryptValue(rotatedKey, sealed, owner)).toBe("survives rotation");
    await expect(unwrapDataKey(master, rewrapped, TENANT_A)).rejects.toBeInstanceOf(DecryptionError);
  });

  it("derives a stable master key id that differs between keys and does not contain the key", async () => {
    const raw = crypto.getRandomValues(new Uint8Array(32));
    const [one, again, other] = await Promise.all([
      importMasterKey(toBase64(raw)),
      importMasterKey(toBase64(raw)),
      randomMaster(),
    ]);
    expect(one.id).toMatch(/^mk_[0-9a-f]{16}$/);
    expect(again.id).toBe(one.id);
    expect(other.id).not.toBe(one.id);
    expect(one.key.extractable).toBe(false);
  });

  it("rejects a master key that is not 32 bytes of base64", async () => {
    await expect(importMasterKey(toBase64(new Uint8Array(16)))).rejects.toThrow(/32 bytes, not 16/);
    await expect(importMasterKey("not base64 at all!")).rejects.toThrow(/not valid base64/);
  });
});
