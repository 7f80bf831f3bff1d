/**
 * Admission of a signed request (auth.ts): the token first, so callers without a valid one
 * learn nothing about the body rules; then the exact body bytes, the body's schema and what
 * the token names; the token's `jti` is spent only once the whole request checks out, so a
 * tampered copy sent ahead of the genuine request cannot use it up.
 */
import type { z } from "zod";
import {
  assertBodyMatches,
  bearerToken,
  CLOCK_TOLERANCE_S,
  type RequestClaims,
  TokenError,
  verifyRequestToken,
} from "./auth";
import { Problem } from "./problem";
import type { ReplayCache } from "./replay-cache";

export async function admitRequest<S extends z.ZodType>(opts: {
  authorization: string | undefined;
  readBody: () => Promise<ArrayBuffer>;
  key: Uint8Array;
  replayCache: ReplayCache;
  schema: S;
  /** What the body is, for the validation problem's detail ("the job request"). */
  noun: string;
  /** Throws a TokenError when the token was issued for another request than this body. */
  matches: (claims: RequestClaims, body: z.infer<S>) => void;
}): Promise<z.infer<S>> {
  const claims = await verifyRequestToken(bearerToken(opts.authorization), opts.key);
  const bytes = new Uint8Array(await opts.readBody());
  assertBodyMatches(claims, bytes);
  let body: unknown;
  try {
    body = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new Problem("malformed_json", "the request body is not valid JSON");
  }
  const parsed = opts.schema.safeParse(body);
  if (!parsed.success) {
    const errors = parsed.error.issues.map((issue) => ({
      path: issue.path.join("."),
      message: issue.message,
      code: issue.code,
    }));
    throw new Problem("validation_failed", `${opts.noun} is invalid`, errors);
  }
  opts.matches(claims, parsed.data);
  consume(opts.replayCache, claims);
  return parsed.data;
}

/** Accepts each `jti` once, for as long as its token could still verify. */
export function consume(replayCache: ReplayCache, claims: RequestClaims): void {
  const admission = replayCache.admit(claims.jti, (claims.exp + CLOCK_TOLERANCE_S) * 1000);
  if (admission === "replayed") throw new TokenError("invalid_token", "the job token was already used");
  if (admission === "full") {
    throw new Problem("replay_cache_full", "too many job tokens in flight; try again shortly");
  }
}
