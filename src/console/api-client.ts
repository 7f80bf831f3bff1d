/**
 * The console's only way to read or change anything: a request to the API, in-process
 * through the Worker's own `fetch`, with the session's bearer token. Every guard, tenant
 * rule, rate limit, quota and audit record of the API applies exactly as it would to any
 * other client; there is no second path into the services.
 */
import type { Context } from "hono";
import type { ProblemBody } from "../lib/problem";
import type { ApiFetch, ConsoleEnv } from "./console-env";

/** The tenant's hourly budget as the latest tenant-scoped answer reported it. */
export interface RateLimitState {
  remaining: number;
  limit: number | null;
  resetSeconds: number;
}

export type ApiResult<T> =
  | { ok: true; status: number; data: T }
  | { ok: false; status: number; problem: ProblemBody; retryAfter: number | null };

export interface CallOptions {
  /** Sent as `X-Tenant-ID`: the tenant the call acts in. */
  tenant?: string;
  idempotencyKey?: string;
}

export interface ApiClient {
  get<T>(path: string, opts?: CallOptions): Promise<ApiResult<T>>;
  send<T>(
    method: "POST" | "PATCH" | "DELETE",
    path: string,
    body?: unknown,
    opts?: CallOptions,
  ): Promise<ApiResult<T>>;
  rateLimit(): RateLimitState | undefined;
}

/** Inner request ids extend the page's own, so the access log and audit trail tie them together. */
const MAX_PARENT_ID = 100;

export function createApiClient(
  c: Context<ConsoleEnv>,
  apiFetch: ApiFetch,
  token: string | undefined,
): ApiClient {
  let calls = 0;
  let budget: RateLimitState | undefined;
  const parentId = c.get("requestId").slice(0, MAX_PARENT_ID);
  const clientIp = c.req.header("cf-connecting-ip");

  async function call<T>(
    method: string,
    path: string,
    body: unknown,
    opts: CallOptions,
  ): Promise<ApiResult<T>> {
    calls += 1;
    const headers = new Headers({ accept: "application/json", "x-request-id": `${parentId}.${calls}` });
    if (token) headers.set("authorization", `Bearer ${token}`);
    if (opts.tenant) headers.set("x-tenant-id", opts.tenant);
    if (opts.idempotencyKey) headers.set("idempotency-key", opts.idempotencyKey);
    // Per-IP limits (sign-in) must count the browser's address, not the Worker's.
    if (clientIp) headers.set("cf-connecting-ip", clientIp);
    if (body !== undefined) headers.set("content-type", "application/json");
    const request = new Request(new URL(path, c.req.url), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const res = await apiFetch(request, c.env, executionContextOf(c));
    budget = lowest(budget, readRateLimit(res.headers));
    return toResult<T>(res);
  }

  return {
    get: (path, opts = {}) => call("GET", path, undefined, opts),
    send: (method, path, body, opts = {}) => call(method, path, body, opts),
    rateLimit: () => budget,
  };
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

async function toResult<T>(res: Response): Promise<ApiResult<T>> {
  const text = await res.text();
  const parsed = text ? safeJson(text) : null;
  if (res.ok) return { ok: true, status: res.status, data: parsed as T };
  const problem =
    parsed && typeof parsed === "object" && "code" in parsed
      ? (parsed as ProblemBody)
      : ({
          type: "about:blank",
          title: "Unexpected answer",
          status: res.status,
          detail: "The API answered in an unexpected way.",
          code: "internal",
        } satisfies ProblemBody);
  const retryAfter = Number(res.headers.get("retry-after"));
  return {
    ok: false,
    status: res.status,
    problem,
    retryAfter: Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : null,
  };
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

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
