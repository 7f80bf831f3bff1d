/**
 * The problems a route can answer because of what it is, not because of what it does: its
 * access kind (what the pipeline refuses), whether the JSON body guard reads its body, whether
 * it validates input, whether it is an idempotent create, whether it reaches a backend.
 * `defineRoute` adds them to every route's OpenAPI responses, so a route declares by hand
 * only the problems of its own logic (`not_found`, `last_admin`, `invitation_expired`, …).
 */
import type { ProblemCode } from "../lib/problem";
import { readsJsonBody } from "../middleware/json-body";
import type { Access } from "../middleware/pipeline/access";

export interface RouteTraits {
  method: string;
  path: string;
  access: Access;
  /** It declares limits of its own (login, invitation accept): 429 `rate_limited`. */
  limits: boolean;
  /** The route names a plan feature (403 `feature_disabled` when it is off). */
  feature: boolean;
  /** Path parameters, a query or a body validated by zod (400 `validation_failed`). */
  validatesInput: boolean;
  /** A POST that creates: it honours `Idempotency-Key`. */
  idempotent: boolean;
  /** It reads Postgres or Redis (every route but the liveness probe). */
  backend: boolean;
}

export function impliedProblems(route: RouteTraits): ProblemCode[] {
  const codes: ProblemCode[] = [...accessProblems(route.access)];
  if (route.access.kind === "tenant" && route.feature) codes.push("feature_disabled");
  // A moving tenant is read-only (src/middleware/pipeline/resolve-tenant.ts).
  if (route.access.kind === "tenant" && !["get", "head"].includes(route.method.toLowerCase()))
    codes.push("tenant_moving");
  if (route.limits) codes.push("rate_limited");
  if (route.validatesInput) codes.push("validation_failed");
  if (readsJsonBody(route.method, route.path))
    codes.push("malformed_json", "payload_too_large", "unsupported_media_type");
  // A malformed key is a validation failure; a key still in flight is 409; another body is 422.
  if (route.idempotent) codes.push("validation_failed", "conflict", "idempotency_key_reused");
  codes.push("internal");
  if (route.backend) codes.push("dependency_unavailable");
  return codes;
}

/** What the pipeline answers before the handler runs (src/middleware/pipeline/), per access kind. */
function accessProblems(access: Access): ProblemCode[] {
  if (access.kind === "public") return [];
  // Any credential may be missing or bad, and an address with too many bad ones is refused
  // before its credential is looked at (`credential-failures-ip`).
  const codes: ProblemCode[] = ["unauthenticated", "invalid_token", "rate_limited"];
  const exempt = "passwordChangeExempt" in access && access.passwordChangeExempt === true;
  if (!exempt) codes.push("password_change_required");
  switch (access.kind) {
    case "authenticated":
      return codes;
    case "user":
    case "system":
      return [...codes, "forbidden"];
    case "tenant":
      return [
        ...codes,
        "validation_failed",
        "tenant_required",
        "tenant_conflict",
        "forbidden",
        "tenant_mismatch",
        "tenant_suspended",
        "tenant_not_found",
        "ip_not_allowed",
      ];
  }
}
