/**
 * RFC 9457 problem details, shaped like the Worker's (`{type,title,status,detail,code}`),
 * so the Worker can record `detail` as the job's last_error without special cases.
 */
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
  replay_cache_full: { status: 503, title: "Service unavailable" },
  kubernetes_timeout: { status: 504, title: "Kubernetes API timeout" },
} as const;

export type ProblemCode = keyof typeof PROBLEM_CODES;

export interface FieldError {
  path: string;
  message: string;
  code: string;
}

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
    const body = {
      type: `https://tenantry.dev/problems/${this.code}`,
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
