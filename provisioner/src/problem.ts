/**
 * The provisioner's errors as RFC 9457 problem details, in the shape the Worker parses
 * (`@tenantry/contract`, `problemSchema`): it records `detail` as the job's last_error.
 */
import { type FieldError, PROBLEM_TYPE_BASE, type ProblemDetails } from "@tenantry/contract";

export const PROBLEM_CODES = {
  validation_failed: { status: 400, title: "Validation failed" },
  malformed_json: { status: 400, title: "Malformed JSON" },
  unauthenticated: { status: 401, title: "Authentication required" },
  invalid_token: { status: 401, title: "Invalid token" },
  not_found: { status: 404, title: "Not found" },
  conflict: { status: 409, title: "Conflict" },
  payload_too_large: { status: 413, title: "Payload too large" },
  internal: { status: 500, title: "Internal server error" },
  kubernetes_error: { status: 502, title: "Kubernetes API error" },
  database_provider_error: { status: 502, title: "Database provider error" },
  database_migration_failed: { status: 502, title: "Database migration failed" },
  replay_cache_full: { status: 503, title: "Service unavailable" },
  databases_unavailable: { status: 503, title: "Databases unavailable" },
  database_provider_unavailable: { status: 503, title: "Database provider unavailable" },
  database_pending: { status: 503, title: "Database not ready yet" },
  kubernetes_timeout: { status: 504, title: "Kubernetes API timeout" },
} as const;

export type ProblemCode = keyof typeof PROBLEM_CODES;

export class Problem extends Error {
  readonly status: number;

  constructor(
    readonly code: ProblemCode,
    detail: string,
    readonly errors?: FieldError[],
  ) {
    super(detail);
    this.name = "Problem";
    this.status = PROBLEM_CODES[code].status;
  }

  toResponse(requestId?: string): Response {
    const body: ProblemDetails = {
      type: `${PROBLEM_TYPE_BASE}${this.code}`,
      title: PROBLEM_CODES[this.code].title,
      status: this.status,
      detail: this.message,
      code: this.code,
      ...(requestId ? { request_id: requestId } : {}),
      ...(this.errors ? { errors: this.errors } : {}),
    };
    return new Response(JSON.stringify(body), {
      status: this.status,
      headers: { "content-type": "application/problem+json" },
    });
  }
}
