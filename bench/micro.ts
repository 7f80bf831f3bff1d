/**
 * In-process microbenchmarks of the per-request pure work (no I/O): JWT verify, API key
 * check on a cache hit, tenant resolution helpers, rate-limit header rendering and problem
 * rendering. Each op runs in batches; we report µs/op at p50 and p99 over the batches.
 */
import { SignJWT } from "jose";
import type { Config } from "../src/env";
import { sha256Hex, utf8 } from "../src/lib/encoding";
import { verifyAccessToken } from "../src/lib/jwt";
import { Problem } from "../src/lib/problem";
import { TtlCache } from "../src/lib/ttl-cache";
import { parseKey } from "../src/services/access/api-keys";
import {
  checkLimit,
  type LimitPolicy,
  rateLimitHeaders,
  tenantPolicy,
} from "../src/services/platform/rate-limit";
import { parseTenantKey } from "../src/services/tenancy/tenant-directory";
import { subdomainOf } from "../src/services/tenancy/tenant-resolution";

const BATCHES = 200;
const PER_BATCH = 50;

export interface MicroResult {
  op: string;
  p50_us: number;
  p99_us: number;
}

export async function time(op: string, fn: () => unknown | Promise<unknown>): Promise<MicroResult> {
  for (let i = 0; i < PER_BATCH * 5; i++) await fn();
  const samples: number[] = [];
  for (let b = 0; b < BATCHES; b++) {
    const start = performance.now();
    for (let i = 0; i < PER_BATCH; i++) await fn();
    samples.push(((performance.now() - start) * 1000) / PER_BATCH);
  }
  samples.sort((a, b) => a - b);
  const at = (q: number) =>
    Math.round((samples[Math.min(samples.length - 1, Math.floor(q * samples.length))] ?? 0) * 10) / 10;
  return { op, p50_us: at(0.5), p99_us: at(0.99) };
}

export async function runMicro(): Promise<MicroResult[]> {
  const secret = "micro-benchmark-secret-0123456789abcdef";
  const config = { JWT_SECRET: secret, JWT_ISSUER: "tenantry", JWT_AUDIENCE: "tenantry-api" } as Config;
  const now = Math.floor(Date.now() / 1000);
  const tenantId = crypto.randomUUID();
  const token = await new SignJWT({ tenant_id: tenantId, tenant_slug: "acme", is_system_admin: false })
    .setProtectedHeader({ alg: "HS256" })
    .setIssuer("tenantry")
    .setAudience("tenantry-api")
    .setSubject(crypto.randomUUID())
    .setIssuedAt(now)
    .setExpirationTime(now + 3600)
    .sign(utf8(secret));
  const apiKey = "uk_acme_4fJx9QmZr2LpVb7TyNc1KdHs8WeAo3Gi6UqRt0Xz";
  const cache = new TtlCache<{ id: string }>(30_000);
  cache.set(`slug:acme`, { id: tenantId });
  const decision = {
    policy: tenantPolicy(1000),
    allowed: true,
    remaining: 998,
    resetSeconds: 1800,
    degraded: false,
  };
  return [
    await time("JWT verify (HS256, claims checked)", () => verifyAccessToken(config, token)),
    await time("API key check on cache hit (parse + SHA-256)", async () => {
      parseKey(apiKey);
      await sha256Hex(apiKey);
    }),
    await time("tenant resolution helpers (Host + X-Tenant-ID parse, cache hit)", () => {
      subdomainOf("acme.api.example.com:443", "api.example.com");
      parseTenantKey("acme");
      return cache.get("slug:acme");
    }),
    await time("rate-limit headers", () => rateLimitHeaders([decision])),
    await time("problem+json rendering", () => new Problem("tenant_mismatch", "x").toResponse("req-1")),
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.table(await runMicro());
}

/**
 * The rate-limit step against the real Upstash adapter: an admitted call (one Redis EVAL) and
 * a call for an identifier that is already blocked (answered by the ephemeral cache, no Redis).
 */
export async function runRateLimitStep(redis: { url: string; token: string }): Promise<MicroResult[]> {
  const config = {
    UPSTASH_REDIS_REST_URL: redis.url,
    UPSTASH_REDIS_REST_TOKEN: redis.token,
    RATE_LIMIT_FAILURE_MODE: "open",
  } as Config;
  const open: LimitPolicy = {
    name: "bench-open",
    limit: 1_000_000_000,
    windowSeconds: 3600,
    kind: "sliding",
  };
  const tight: LimitPolicy = { name: "bench-tight", limit: 1, windowSeconds: 3600, kind: "sliding" };
  const blocked = `blocked-${crypto.randomUUID()}`;
  await checkLimit(config, tight, blocked);
  await checkLimit(config, tight, blocked);
  return [
    await time("rate-limit step, admitted (1 Redis EVAL)", () =>
      checkLimit(config, open, `open-${crypto.randomUUID()}`),
    ),
    await time("rate-limit step, blocked (ephemeral cache hit)", () => checkLimit(config, tight, blocked)),
  ];
}
