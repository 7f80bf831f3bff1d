/**
 * Password hashing: argon2id at OWASP's parameters (m=19 MiB, t=2, p=1) in WebAssembly. It
 * costs about twice the CPU of the PBKDF2 the Workers runtime caps at a sixth of OWASP's
 * iterations, and is memory-hard (see SECURITY.md and `npm run bench` for the numbers). Each
 * stored hash names its scheme and parameters; a hash made otherwise still verifies and is
 * replaced at the next successful sign-in (`needsRehash`).
 */
import wasm from "@phi-ag/argon2/argon2.wasm";
import { ARGON2ID_PARAMS, createArgon2id } from "./argon2id";
import { PBKDF2_PREFIX, verifyPbkdf2 } from "./pbkdf2";

const argon2id = createArgon2id(wasm);
const { memoryKiB, passes, lanes } = ARGON2ID_PARAMS;
const CURRENT_PREFIX = `$argon2id$v=19$m=${memoryKiB},t=${passes},p=${lanes}$`;

export async function hashPassword(password: string): Promise<string> {
  return argon2id.hash(password);
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  if (stored.startsWith("$argon2id$")) return argon2id.verify(stored, password);
  if (stored.startsWith(PBKDF2_PREFIX)) return verifyPbkdf2(password, stored);
  return false;
}

/** True when `stored` was made with another scheme or other parameters than today's. */
export function needsRehash(stored: string): boolean {
  return !stored.startsWith(CURRENT_PREFIX);
}

/** A well-formed hash at today's parameters, verified against when the email is unknown (equal work). */
export const DUMMY_PASSWORD_HASH =
  "$argon2id$v=19$m=19456,t=2,p=1$AAAAAAAAAAAAAAAAAAAAAA$MEWAlf03kT2VcPg2c+/pqQCcmil2TfHWT83b6+/Xmt8";
