/** Names unique within a tenant: the unique index is the arbiter, so a lost race is a 409 too. */
import { findPgError } from "../db/client";
import { Problem } from "../lib/problem";

const UNIQUE_VIOLATION = "23505";

/** Runs a write; a unique violation (the name is taken) becomes 409 `conflict`, never a 500. */
export async function uniqueName<T>(write: PromiseLike<T>, detail: string): Promise<T> {
  try {
    return await write;
  } catch (err) {
    if (findPgError(err)?.code === UNIQUE_VIOLATION) throw new Problem("conflict", detail);
    throw err;
  }
}
