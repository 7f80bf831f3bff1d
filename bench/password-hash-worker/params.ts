/** Shared by the Worker and bench/password-hash.ts (which must not import the `.wasm`). */

/** hashPbkdf2's default (src/lib/pbkdf2.ts): the most the Workers runtime accepts. The Worker checks it. */
export const PBKDF2_ITERATIONS = 100_000;

/** The password of the PBKDF2 check: Node recomputes its hash with node:crypto from the salt. */
export const PBKDF2_CHECK_PASSWORD = "correct horse battery staple";

export type Scheme = "none" | "pbkdf2" | "argon2id";

export interface CheckResult {
  /** hashPbkdf2(PBKDF2_CHECK_PASSWORD): `pbkdf2-sha256$<iterations>$<salt>$<hash>`. */
  pbkdf2: string;
  /** verifyPbkdf2 accepts that hash with its password and refuses another. */
  pbkdf2RoundTrip: boolean;
  /** Reference vectors through createArgon2id(wasm).verify: the right password, then a wrong one. */
  vectors: { encoded: string; verified: boolean; wrongRefused: boolean }[];
  /** A fresh hash at the product's parameters: verifies, and passwords.ts finds no rehash needed. */
  current: { encoded: string; verified: boolean; needsRehash: boolean };
  /** hash("€a") verifies "€a" and refuses "€b" (no UTF-8 truncation). */
  utf8: { verifiesSame: boolean; refusesOther: boolean };
  /** For comparison only: the package's own Argon2 class still hashes "€a" and "€b" alike. */
  packageClassTruncates: boolean;
}

export interface HashResult {
  /** performance.now() around the one hash. */
  ms: number;
  /** The measured argon2id instance's linear memory after the hash (it grows, never shrinks). */
  wasmMemoryBytes: number | null;
}
