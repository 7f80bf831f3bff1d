/**
 * PBKDF2-SHA256 from WebCrypto: the scheme of hashes stored before argon2id, still verified
 * so those users can sign in (and are rehashed then). 100,000 iterations is the most the
 * Workers runtime accepts (workerd issue 1346), a sixth of OWASP's 600,000.
 * Format: `pbkdf2-sha256$<iterations>$<salt b64>$<hash b64>`.
 */
import { constantTimeEqual, fromBase64, toBase64, utf8 } from "./encoding";

export const PBKDF2_PREFIX = "pbkdf2-sha256$";
const ITERATIONS = 100_000;
const SALT_BYTES = 16;
const HASH_BITS = 256;

export async function hashPbkdf2(password: string, iterations = ITERATIONS): Promise<string> {
  const salt = crypto.getRandomValues(new Uint8Array(SALT_BYTES));
  const hash = await derive(password, salt, iterations);
  return `${PBKDF2_PREFIX}${iterations}$${toBase64(salt)}$${toBase64(hash)}`;
}

export async function verifyPbkdf2(password: string, stored: string): Promise<boolean> {
  const [scheme, iterations, salt, hash] = stored.split("$");
  const count = Number(iterations);
  if (`${scheme}$` !== PBKDF2_PREFIX || !salt || !hash || !Number.isInteger(count) || count < 1) return false;
  const actual = await derive(password, fromBase64(salt), Math.min(count, ITERATIONS));
  return constantTimeEqual(actual, fromBase64(hash));
}

async function derive(
  password: string,
  salt: Uint8Array<ArrayBuffer>,
  iterations: number,
): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey("raw", utf8(password), "PBKDF2", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits(
    { name: "PBKDF2", hash: "SHA-256", salt, iterations },
    key,
    HASH_BITS,
  );
  return new Uint8Array(bits);
}
