/**
 * RFC 9457 problem details. Every error leaves the API through `Problem`, so the `code`
 * clients switch on and the status that goes with it are defined in exactly one place.
 */
export const PROBLEM_CODES = {
  validation_failed: { status: 400, title: "Validation failed" },
  malformed_json: { status: 400, title: "Malformed JSON" },
  tenant_required: { status: 400, title: "Tenant required" },
  tenant_conflict: { status: 400, title: "Conflicting tenant selectors" },
  unauthenticated: { status: 401, title: "Authentication required" },
  invalid_token: { status: 401, title: "Invalid token" },
  forbidden: { status: 403, title: "Forbidden" },
  tenant_mismatch: { status: 403, title: "Tenant mismatch" },
  tenant_suspended: { status: 403, title: "Tenant suspended" },
  password_change_required: { status: 403, title: "Password change required" },
  feature_disabled: { status: 403, title: "Feature disabled" },
  ip_not_allowed: { status: 403, title: "IP address not allowed" },
  not_found: { status: 404, title: "Not found" },
  tenant_not_found: { status: 404, title: "Tenant not found" },
  method_not_allowed: { status: 405, title: "Method not allowed" },
  conflict: { status: 409, title: "Conflict" },
  slug_taken: { status: 409, title: "Slug taken" },
  last_admin: { status: 409, title: "Last admin" },
  default_tenant_protected: { status: 409, title: "Default tenant protected" },
  ip_allowlist_excludes_caller: { status: 409, title: "IP allowlist excludes the caller" },
  tenant_moving: { status: 409, title: "Tenant moving" },
  invitation_expired: { status: 410, title: "Invitation expired" },
  payload_too_large: { status: 413, title: "Payload too large" },
  unsupported_media_type: { status: 415, title: "Unsupported media type" },
  idempotency_key_reused: { status: 422, title: "Idempotency key reused" },
  rate_limited: { status: 429, title: "Rate limited" },
  quota_exceeded: { status: 429, title: "Quota exceeded" },
  internal: { status: 500, title: "Internal server error" },
  dependency_unavailable: { status: 503, title: "Dependency unavailable" },
} as const;

export type ProblemCode = keyof typeof PROBLEM_CODES;

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ProblemCode;
  request_id?: string;
  errors?: FieldError[];
  [extension: string]: unknown;
}

export interface FieldError {
  path: string;
  message: string;
  code: string;
}

const TYPE_BASE = "https://tenantry.dev/problems/";

export class Problem extends Error {
  readonly code: ProblemCode;
  readonly status: number;
  readonly extensions: Record<string, unknown>;
  readonly headers: Record<string, string>;

  constructor(
    code: ProblemCode,
    detail?: string,
    opts: { extensions?: Record<string, unknown>; headers?: Record<string, string> } = {},
  ) {
    super(detail ?? PROBLEM_CODES[code].title);
    this.name = "Problem";
    this.code = code;
    this.status = PROBLEM_CODES[code].status;
    this.extensions = opts.extensions ?? {};
    this.headers = opts.headers ?? {};
  }

  toBody(requestId?: string): ProblemBody {
    return {
      ...this.extensions,
      type: `${TYPE_BASE}${this.code}`,
      title: PROBLEM_CODES[this.code].title,
      status: this.status,
      detail: this.message,
      code: this.code,
      ...(requestId ? { request_id: requestId } : {}),
    };
  }

  toResponse(requestId?: string): Response {
    return new Response(JSON.stringify(this.toBody(requestId)), {
      status: this.status,
      headers: { "content-type": "application/problem+json", ...this.headers },
    });
  }
}

/** 401 `invalid_token` with the Bearer challenge RFC 6750 asks for: the credential itself is bad. */
export function invalidToken(detail: string): Problem {
  return new Problem("invalid_token", detail, {
    headers: { "WWW-Authenticate": 'Bearer error="invalid_token"' },
  });
}
