/**
 * The console's only way to read or change anything: a request to the API through the typed
 * client (@tenantry/client, generated from the OpenAPI document), in-process through the
 * Worker's own `fetch`, with the session's bearer token. Every guard, tenant rule, rate limit,
 * quota and audit record of the API applies exactly as it would to any other client; there is
 * no second path into the services, and every path, parameter and body is checked against the
 * document by the compiler.
 */
import type { Context, Hono } from "hono";
import { createTenantryClient, type TenantryClient } from "../../clients/typescript/src/index";
import type { Bindings } from "../env";
import type { ProblemBody } from "../lib/problem";
import type { AppBindings } from "../request-env";

/** The tenant's hourly budget as the latest tenant-scoped answer reported it. */
export interface RateLimitState {
  remaining: number;
  limit: number | null;
  resetSeconds: number;
}

export type ApiResult<T> =
  | { ok: true; status: number; data: T }
  | { ok: false; status: number; problem: ProblemBody; retryAfter: number | null };

const JSON_MEDIA = "application/json";

/**
 * The typed client, plus what the page has learnt of the tenant's hourly budget. It asks for
 * JSON (`Accept`), so its answers are typed as JSON alone.
 */
export type ApiClient = TenantryClient<typeof JSON_MEDIA> & { rateLimit(): RateLimitState | undefined };

/** Inner request ids extend the page's own, so the access log and audit trail tie them together. */
const MAX_PARENT_ID = 100;

/** The Worker's own `fetch`: the console calls the API through it, in-process. */
export type ApiFetch = Hono<{ Bindings: Bindings }>["fetch"];

export function createApiClient<E extends AppBindings>(
  c: Context<E>,
  apiFetch: ApiFetch,
  token: string | undefined,
): ApiClient {
  let calls = 0;
  let budget: RateLimitState | undefined;
  const parentId = c.get("requestId").slice(0, MAX_PARENT_ID);
  const clientIp = c.req.header("cf-connecting-ip");

  const client = createTenantryClient<typeof JSON_MEDIA>({
    baseUrl: new URL(c.req.url).origin,
    token,
    headers: { accept: JSON_MEDIA },
    fetch: async (request) => {
      calls += 1;
      const headers = new Headers(request.headers);
      headers.set("x-request-id", `${parentId}.${calls}`);
      // Per-IP limits (sign-in) must count the browser's address, not the Worker's.
      if (clientIp) headers.set("cf-connecting-ip", clientIp);
      const res = await apiFetch(new Request(request, { headers }), c.env, executionContextOf(c));
      budget = lowest(budget, readRateLimit(res.headers));
      return res;
    },
  });
  return { ...client, rateLimit: () => budget };
}

/** The headers of a call acting in a tenant (`X-Tenant-ID`). */
export function inTenant(slug: string): { "x-tenant-id": string } {
  return { "x-tenant-id": slug };
}

/**
 * A typed call's answer as the page uses it: the data, or the problem (the API's problem+json,
 * or a generic one when the body is not one) with `Retry-After`.
 */
export async function resultOf<T>(
  call: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<ApiResult<T>> {
  const { data, error, response } = await call;
  if (response.ok) return { ok: true, status: response.status, data: data as T };
  const problem =
    error && typeof error === "object" && "code" in error
      ? (error as ProblemBody)
      : ({
          type: "about:blank",
          title: "Unexpected answer",
          status: response.status,
          detail: "The API answered in an unexpected way.",
          code: "internal",
        } satisfies ProblemBody);
  const retryAfter = Number(response.headers.get("retry-after"));
  return {
    ok: false,
    status: response.status,
    problem,
    retryAfter: Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : null,
  };
}

/** A form's empty field is no filter at all (the API would refuse `?status=`). */
export function given<T extends string>(value: T | undefined): T | undefined {
  return value === "" ? undefined : value;
}

/** Calls of one page run in parallel: the lowest remaining count is the latest state of the window. */
function lowest(a: RateLimitState | undefined, b: RateLimitState | undefined): RateLimitState | undefined {
  if (!a || !b) return a ?? b;
  return b.remaining <= a.remaining ? b : a;
}

/** `path?a=1&b=2`, leaving out empty values. */
export function withQuery(path: string, params: Record<string, string | number | undefined>): string {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== "") query.set(name, String(value));
  }
  const text = query.toString();
  return text ? `${path}?${text}` : path;
}

/**
 * Reads the tenant item of the IETF draft headers: `RateLimit: "tenant";r=3;t=120` and
 * `RateLimit-Policy: "tenant";q=1000;w=3600` (sign-in answers carry other policies).
 */
function readRateLimit(headers: Headers): RateLimitState | undefined {
  const state = /"tenant";r=(\d+);t=(\d+)/.exec(headers.get("ratelimit") ?? "");
  if (!state) return undefined;
  const policy = /"tenant";q=(\d+)/.exec(headers.get("ratelimit-policy") ?? "");
  return {
    remaining: Number(state[1]),
    limit: policy ? Number(policy[1]) : null,
    resetSeconds: Number(state[2]),
  };
}

function executionContextOf(c: Context): Parameters<ApiFetch>[2] {
  try {
    return c.executionCtx;
  } catch {
    // `app.request` in unit tests runs without one.
    return undefined;
  }
}
