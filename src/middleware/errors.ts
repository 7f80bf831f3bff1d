/**
 * The one place errors become responses: every failure leaves as RFC 9457 problem+json
 * with a stable `code` and the request id, and nothing internal (stack, SQL, config) leaks.
 */
import type { Context, ErrorHandler, NotFoundHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { findPgError, isUnavailable } from "../db/client";
import { IdempotencyClaimTaken } from "../db/write-batch";
import { ConfigError } from "../env";
import { log } from "../lib/log";
import { Problem, type ProblemCode } from "../lib/problem";
import type { AppBindings } from "../request-env";
import { allowedMethods } from "../routes/route-table";

export const onError: ErrorHandler<AppBindings> = (err, c) => {
  const problem = toProblem(err, c);
  if (problem.status >= 500) {
    log("error", "request failed", {
      request_id: c.get("requestId"),
      route: c.req.routePath,
      code: problem.code,
      error: err instanceof ConfigError ? err.message : describeError(err),
    });
  }
  return problem.toResponse(c.get("requestId"));
};

export const notFound: NotFoundHandler<AppBindings> = (c) => {
  const allowed = allowedMethods(c.req.path);
  const problem =
    allowed.length > 0
      ? new Problem("method_not_allowed", `${c.req.method} is not allowed here.`, {
          headers: { Allow: allowed.join(", ") },
        })
      : new Problem("not_found", "No route matches this path.");
  return problem.toResponse(c.get("requestId"));
};

const STATUS_CODES: Partial<Record<number, ProblemCode>> = {
  400: "validation_failed",
  401: "unauthenticated",
  403: "forbidden",
  404: "not_found",
  413: "payload_too_large",
  415: "unsupported_media_type",
  429: "rate_limited",
  503: "dependency_unavailable",
};

function toProblem(err: unknown, _c: Context<AppBindings>): Problem {
  if (err instanceof Problem) return err;
  // Replaced by the stored answer in the idempotency middleware; this is its fallback.
  if (err instanceof IdempotencyClaimTaken) {
    return new Problem(
      "conflict",
      "A request with this Idempotency-Key is still in progress; retry shortly.",
    );
  }
  if (err instanceof ConfigError) return new Problem("internal", "The server is misconfigured.");
  if (err instanceof HTTPException) {
    const code = STATUS_CODES[err.status as ContentfulStatusCode];
    if (code) return new Problem(code, err.message || undefined);
  }
  if (isUnavailable(err)) return new Problem("dependency_unavailable", "A backing service is unavailable.");
  if (UNSTORABLE_TEXT.has(findPgError(err)?.code ?? "")) {
    return new Problem("validation_failed", "The request holds a character that cannot be stored (U+0000).");
  }
  return new Problem("internal", "An unexpected error occurred.");
}

/**
 * Postgres refuses U+0000 in text (22021) and in jsonb (22P05). Valid JSON and query strings
 * can carry it, so the input is at fault, not the server: 400, not 500.
 */
const UNSTORABLE_TEXT = new Set(["22021", "22P05"]);

/**
 * Logged for operators only: the error's class, message and stack. A failed query's
 * message embeds its parameters (hashes, emails), so only its cause is logged.
 */
function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  if ("query" in err && "params" in err) return `${err.name}: ${describeError(err.cause)}`;
  return err.stack ?? `${err.name}: ${err.message}`;
}
