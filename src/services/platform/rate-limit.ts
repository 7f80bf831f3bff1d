/**
 * Rate limiting with @upstash/ratelimit: a sliding window per tenant (the plan's
 * `api_calls_per_hour`) and fixed per-IP / per-email windows on public routes. Limiters are
 * built once per isolate and limit, so their ephemeral caches answer blocked callers without
 * a Redis trip. When Redis fails, `RATE_LIMIT_FAILURE_MODE` decides: `open` admits (and
 * warns once per window), `closed` answers 503.
 */
import { Ratelimit } from "@upstash/ratelimit";
import type { Config } from "../../env";
import { clock } from "../../lib/clock";
import { log } from "../../lib/log";
import { Problem } from "../../lib/problem";
import { redisFor } from "./redis";

const TIMEOUT_MS = 1_000;

export interface LimitPolicy {
  /** Names the policy in headers and Redis keys, e.g. `tenant`, `login-ip`. */
  name: string;
  limit: number;
  windowSeconds: number;
  kind: "sliding" | "fixed";
}

export interface LimitDecision {
  policy: LimitPolicy;
  allowed: boolean;
  remaining: number;
  /** Seconds until the window frees capacity. */
  resetSeconds: number;
  /** True when Redis could not be asked and the failure mode let the request through. */
  degraded: boolean;
}

/** Per Redis client (endpoint + token), then per policy: built once, reused by every request. */
const limiters = new WeakMap<object, Map<string, Ratelimit>>();

function limiterFor(config: Config, policy: LimitPolicy): Ratelimit {
  const redis = redisFor(config);
  let forClient = limiters.get(redis);
  if (!forClient) {
    forClient = new Map();
    limiters.set(redis, forClient);
  }
  const key = `${policy.name}|${policy.kind}|${policy.limit}|${policy.windowSeconds}`;
  let limiter = forClient.get(key);
  if (!limiter) {
    const window = `${policy.windowSeconds} s` as const;
    limiter = new Ratelimit({
      redis,
      limiter:
        policy.kind === "sliding"
          ? Ratelimit.slidingWindow(policy.limit, window)
          : Ratelimit.fixedWindow(policy.limit, window),
      prefix: `rl:${policy.name}`,
      ephemeralCache: new Map(),
      timeout: TIMEOUT_MS,
      analytics: false,
    });
    forClient.set(key, limiter);
  }
  return limiter;
}

export async function checkLimit(
  config: Config,
  policy: LimitPolicy,
  identifier: string,
): Promise<LimitDecision> {
  try {
    const result = await limiterFor(config, policy).limit(identifier);
    if (result.reason === "timeout") return degrade(config, policy, new Error("rate limiter timed out"));
    return {
      policy,
      allowed: result.success,
      remaining: Math.max(0, result.remaining),
      resetSeconds: secondsUntil(result.reset),
      degraded: false,
    };
  } catch (err) {
    if (err instanceof Problem) throw err;
    return degrade(config, policy, err);
  }
}

/**
 * The state of a window without spending from it (for limits that count failures only):
 * `allowed` is false when nothing remains. Redis failures follow the failure mode.
 */
export async function peekLimit(
  config: Config,
  policy: LimitPolicy,
  identifier: string,
): Promise<LimitDecision> {
  try {
    const { remaining, reset } = await limiterFor(config, policy).getRemaining(identifier);
    return {
      policy,
      allowed: remaining > 0,
      remaining: Math.max(0, remaining),
      resetSeconds: reset > 0 ? secondsUntil(reset) : policy.windowSeconds,
      degraded: false,
    };
  } catch (err) {
    if (err instanceof Problem) throw err;
    return degrade(config, policy, err);
  }
}

/** Empties an identifier's window (e.g. a success clears that address's failed sign-ins). */
export async function resetLimit(config: Config, policy: LimitPolicy, identifier: string): Promise<void> {
  await limiterFor(config, policy).resetUsedTokens(identifier);
}

/** Calls made in the current window, for the usage endpoint. */
export async function usedInWindow(
  config: Config,
  policy: LimitPolicy,
  identifier: string,
): Promise<number | null> {
  try {
    const { remaining } = await limiterFor(config, policy).getRemaining(identifier);
    return Math.max(0, policy.limit - remaining);
  } catch {
    return null;
  }
}

/** Throws 429 `rate_limited` (with Retry-After and the policy headers) for a denied decision. */
export function enforce(decision: LimitDecision): void {
  enforceAll([decision]);
}

/** Like `enforce` for several policies at once: the headers describe all of them. */
export function enforceAll(decisions: LimitDecision[]): void {
  const denied = decisions.filter((d) => !d.allowed);
  if (denied.length === 0) return;
  const retryAfter = Math.max(1, ...denied.map((d) => d.resetSeconds));
  throw new Problem(
    "rate_limited",
    `Rate limit "${denied.map((d) => d.policy.name).join('", "')}" exceeded; retry later.`,
    {
      headers: { ...rateLimitHeaders(decisions), "Retry-After": String(retryAfter) },
      extensions: { policies: denied.map((d) => d.policy.name) },
    },
  );
}

/** `RateLimit-Policy` / `RateLimit` per the IETF httpapi draft, one list item per policy. */
export function rateLimitHeaders(decisions: LimitDecision[]): Record<string, string> {
  return {
    "RateLimit-Policy": decisions
      .map((d) => `"${d.policy.name}";q=${d.policy.limit};w=${d.policy.windowSeconds}`)
      .join(", "),
    RateLimit: decisions.map((d) => `"${d.policy.name}";r=${d.remaining};t=${d.resetSeconds}`).join(", "),
  };
}

const warnedWindows = new Set<string>();

function degrade(config: Config, policy: LimitPolicy, err: unknown): LimitDecision {
  if (config.RATE_LIMIT_FAILURE_MODE === "closed") {
    throw new Problem(
      "dependency_unavailable",
      "Rate limiting is unavailable; refusing requests (fail closed).",
    );
  }
  const window = `${policy.name}:${Math.floor(clock.now() / (policy.windowSeconds * 1000))}`;
  if (!warnedWindows.has(window)) {
    warnedWindows.add(window);
    log("warn", "rate limiter unavailable; admitting requests (fail open)", {
      policy: policy.name,
      error: err instanceof Error ? err.message : String(err),
    });
  }
  return {
    policy,
    allowed: true,
    remaining: policy.limit,
    resetSeconds: policy.windowSeconds,
    degraded: true,
  };
}

/** The limiter's reset is wall-clock time in Redis, so compare with the real clock. */
function secondsUntil(resetMs: number): number {
  return Math.max(0, Math.ceil((resetMs - Date.now()) / 1000));
}

export const tenantPolicy = (callsPerHour: number): LimitPolicy => ({
  name: "tenant",
  limit: callsPerHour,
  windowSeconds: 3600,
  kind: "sliding",
});

export const apiKeyPolicy = (callsPerHour: number): LimitPolicy => ({
  name: "api-key",
  limit: callsPerHour,
  windowSeconds: 3600,
  kind: "sliding",
});

export const PUBLIC_POLICIES = {
  loginFailuresIp: { name: "login-failures-ip", limit: 10, windowSeconds: 60, kind: "fixed" },
  loginFailuresEmailIp: { name: "login-failures-email-ip", limit: 10, windowSeconds: 60, kind: "fixed" },
  loginFailuresEmail: { name: "login-failures-email", limit: 100, windowSeconds: 3600, kind: "fixed" },
  /**
   * Which addresses have failed for an email, over the same hour as the email's budget: once
   * that budget is spent they stay refused for the rest of its window, not only until their
   * own minute ends (else a botnet would get one more guess per address every minute).
   */
  loginFailedAddress: { name: "login-failed-address", limit: 100, windowSeconds: 3600, kind: "fixed" },
  acceptIp: { name: "accept-ip", limit: 10, windowSeconds: 60, kind: "fixed" },
  credentialFailuresIp: { name: "credential-failures-ip", limit: 10, windowSeconds: 60, kind: "fixed" },
} as const satisfies Record<string, LimitPolicy>;

/** Client addresses over their budget of failed credentials, and until when (isolate-local). */
const blockedUntil = new Map<string, number>();
const MAX_BLOCKED = 10_000;

/**
 * Guessing API keys or tokens: only failed credentials count (10 a minute per IP, so a
 * busy NAT of honest callers is never metered), and an address over its budget is refused
 * before any verification for the rest of the window. Other isolates learn it on the next
 * failure there, which the shared counter already refuses.
 */
export function refuseBlockedAddress(ip: string): void {
  const until = blockedUntil.get(ip);
  if (until === undefined) return;
  const left = until - clock.now();
  if (left <= 0) {
    blockedUntil.delete(ip);
    return;
  }
  enforce({
    policy: PUBLIC_POLICIES.credentialFailuresIp,
    allowed: false,
    remaining: 0,
    resetSeconds: Math.ceil(left / 1000),
    degraded: false,
  });
}

/** Counts one failed credential from `ip`; throws 429 once the address is over its budget. */
export async function countCredentialFailure(config: Config, ip: string): Promise<void> {
  const decision = await checkLimit(config, PUBLIC_POLICIES.credentialFailuresIp, ip);
  if (!decision.allowed) {
    if (blockedUntil.size >= MAX_BLOCKED) blockedUntil.clear();
    blockedUntil.set(ip, clock.now() + Math.max(1, decision.resetSeconds) * 1000);
  }
  enforce(decision);
}
