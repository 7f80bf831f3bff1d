/**
 * Temporary passwords: given out once (at tenant creation, by `npm run admin:create`), they
 * must be changed at first sign-in and stop working after 7 days. Free of the `.wasm` import
 * that `passwords.ts` carries, so Node tools can use it too.
 */
import { randomBase62 } from "./encoding";

export const TEMPORARY_PASSWORD_TTL_MS = 7 * 86_400_000;

/** 20 base62 characters: about 119 bits. */
const TEMPORARY_PASSWORD_LENGTH = 20;

export function newTemporaryPassword(): string {
  return randomBase62(TEMPORARY_PASSWORD_LENGTH);
}
