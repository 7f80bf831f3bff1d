/** Unique names, slugs and memberships: the unique index is the arbiter, so a lost race is a 409 too. */
import { findPgError } from "../../db/client";
import { Problem } from "../../lib/problem";

const UNIQUE_VIOLATION = "23505";

/** Runs a write; a unique violation (the name is taken) becomes a 409 (`conflict` unless told), never a 500. */
export async function uniqueName<T>(
  write: PromiseLike<T>,
  detail: string,
  code: "conflict" | "slug_taken" = "conflict",
): Promise<T> {
  try {
    return await write;
  } catch (err) {
    if (findPgError(err)?.code === UNIQUE_VIOLATION) throw new Problem(code, detail);
    throw err;
  }
}
