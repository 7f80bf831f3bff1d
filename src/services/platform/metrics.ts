/**
 * Per-tenant metrics in Redis, recorded off the request path (batched per isolate, one
 * pipeline per second at most, in `waitUntil`) and exposed in the Prometheus text format. Labels are tenant ids and route
 * patterns — never raw paths — so the number of series stays bounded. The same pipeline
 * carries each tenant's daily usage counters (`usage-counters.ts`), so `/metrics` and the
 * daily usage count the very same events.
 */
import type { Redis } from "@upstash/redis/cloudflare";
import type { Config } from "../../env";
import { clock } from "../../lib/clock";
import { redisFor } from "./redis";
import {
  DAY_HASH_RETENTION_S,
  type DayCounter,
  dayHashKey,
  PENDING_KEY,
  pendingMember,
  statusCounter,
  utcDay,
  VERSION_FIELD,
} from "./usage-counters";

const PREFIX = "metrics";
const KEYS = {
  requests: `${PREFIX}:requests`,
  rateLimited: `${PREFIX}:rate_limited`,
  quotaDenied: `${PREFIX}:quota_denied`,
  credentialReveals: `${PREFIX}:credential_reveals`,
  latency: `${PREFIX}:latency`,
  latencySum: `${PREFIX}:latency_sum`,
  hourly: (tenantId: string) => `${PREFIX}:hourly:${tenantId}`,
};
/** Upper bounds in seconds, as Prometheus histograms expect. */
export const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5] as const;
const HOURLY_RETENTION_S = 8 * 24 * 3600;
const HOUR_MS = 3600_000;
/** How long an isolate gathers samples before writing them in one pipeline. */
const FLUSH_DELAY_MS = 1_000;
const NO_TENANT = "-";

export interface RequestSample {
  tenantId: string | null;
  /** `METHOD /route/{pattern}`, or `unmatched`. */
  route: string;
  status: number;
  durationMs: number;
  rateLimited: boolean;
  quotaDenied: string | null;
}

/** Counters gathered in this isolate since the last flush, per field of each Redis hash. */
interface Batch {
  increments: Map<string, Map<string, number>>;
  sums: Map<string, number>;
  /** Keys that expire, with their lifetime in seconds. */
  expiring: Map<string, number>;
  /** Daily usage hashes written by this batch, with their pair in the rollup's queue. */
  days: Map<string, string>;
  /** A request has handed this batch's flush to `waitUntil`. */
  scheduled: boolean;
}

/** One pending batch per Redis endpoint; the first request that records into it flushes it. */
const batches = new Map<Redis, Batch>();

/**
 * Adds a request to this isolate's batch. The first request of a batch gets the flush
 * (to `waitUntil`): it waits `FLUSH_DELAY_MS`, then writes everything gathered meanwhile in
 * ONE Redis pipeline, so a busy isolate makes far fewer than one metrics call per request.
 * Returns `undefined` when an earlier request's flush will carry this sample.
 */
export function recordRequest(config: Config, sample: RequestSample): Promise<void> | undefined {
  const redis = redisFor(config);
  const batch = batchOf(redis);
  addSample(batch, sample);
  if (batch.scheduled) return undefined;
  batch.scheduled = true;
  return (async () => {
    await new Promise((resolve) => setTimeout(resolve, FLUSH_DELAY_MS));
    batches.delete(redis);
    await flush(redis, batch);
  })();
}

/**
 * Counts a credential reveal of the tenant (the audited kind, for the daily usage and
 * `/metrics`). It joins the isolate's batch without a flush of its own: the request that
 * revealed reaches the access log next, whose `recordRequest` flushes the batch.
 */
export function recordCredentialReveal(config: Config, tenantId: string): void {
  const batch = batchOf(redisFor(config));
  increment(batch, KEYS.credentialReveals, tenantId);
  countDay(batch, tenantId, "credential_reveals");
}

function batchOf(redis: Redis): Batch {
  let batch = batches.get(redis);
  if (!batch) {
    batch = {
      increments: new Map(),
      sums: new Map(),
      expiring: new Map(),
      days: new Map(),
      scheduled: false,
    };
    batches.set(redis, batch);
  }
  return batch;
}

function addSample(batch: Batch, sample: RequestSample): void {
  const tenant = sample.tenantId ?? NO_TENANT;
  const statusClass = `${Math.floor(sample.status / 100)}xx`;
  const seconds = sample.durationMs / 1000;
  const bucket = LATENCY_BUCKETS.find((le) => seconds <= le) ?? "+Inf";
  increment(batch, KEYS.requests, `${tenant}|${sample.route}|${statusClass}`);
  increment(batch, KEYS.latency, `${sample.route}|${bucket}`);
  batch.sums.set(sample.route, (batch.sums.get(sample.route) ?? 0) + seconds);
  if (sample.rateLimited) increment(batch, KEYS.rateLimited, tenant);
  if (sample.quotaDenied) increment(batch, KEYS.quotaDenied, `${tenant}|${sample.quotaDenied}`);
  if (sample.tenantId) {
    const hourly = KEYS.hourly(sample.tenantId);
    increment(batch, hourly, String(Math.floor(clock.now() / HOUR_MS) * 3600));
    batch.expiring.set(hourly, HOURLY_RETENTION_S);
    const counter = statusCounter(sample.status);
    if (counter) countDay(batch, sample.tenantId, counter);
    if (sample.rateLimited) countDay(batch, sample.tenantId, "rate_limited");
    if (sample.quotaDenied) countDay(batch, sample.tenantId, "quota_denied");
  }
}

function increment(batch: Batch, key: string, field: string): void {
  let fields = batch.increments.get(key);
  if (!fields) {
    fields = new Map();
    batch.increments.set(key, fields);
  }
  fields.set(field, (fields.get(field) ?? 0) + 1);
}

/** One more of `counter` in the tenant's hash for today (UTC). */
function countDay(batch: Batch, tenantId: string, counter: DayCounter): void {
  const day = utcDay(clock.now());
  const key = dayHashKey(day, tenantId);
  increment(batch, key, counter);
  batch.expiring.set(key, DAY_HASH_RETENTION_S);
  batch.days.set(key, pendingMember(day, tenantId));
}

async function flush(redis: Redis, batch: Batch): Promise<void> {
  const p = redis.pipeline();
  for (const [key, fields] of batch.increments) for (const [field, n] of fields) p.hincrby(key, field, n);
  for (const [route, seconds] of batch.sums) p.hincrbyfloat(KEYS.latencySum, route, seconds);
  for (const [key, seconds] of batch.expiring) p.expire(key, seconds);
  // After the counters: a rollup that read between them finds the version moved on, or the
  // pair queued again, and reads the day once more on its next run.
  const queuedAt = clock.now();
  for (const [key, member] of batch.days) {
    p.hincrby(key, VERSION_FIELD, 1);
    // NX: a pair keeps its place in the queue while it waits, so a busy tenant is not starved.
    p.zadd(PENDING_KEY, { nx: true }, { score: queuedAt, member });
  }
  await p.exec();
}

/** Requests per hour of one tenant over the last `hours` hours, oldest first. */
export async function requestsPerHour(config: Config, tenantId: string, hours = 24) {
  const stored = ((await redisFor(config).hgetall<Record<string, number>>(KEYS.hourly(tenantId))) ??
    {}) as Record<string, number>;
  const current = Math.floor(clock.now() / HOUR_MS);
  return Array.from({ length: hours }, (_, i) => {
    const hour = (current - hours + 1 + i) * 3600;
    return { hour: new Date(hour * 1000).toISOString(), requests: Number(stored[String(hour)] ?? 0) };
  });
}

/** The Prometheus text exposition (format 0.0.4) of every counter and the latency histogram. */
export async function renderMetrics(config: Config): Promise<string> {
  const redis = redisFor(config);
  const [requests, rateLimited, quotaDenied, credentialReveals, latency, latencySum] = await Promise.all([
    readHash(redis, KEYS.requests),
    readHash(redis, KEYS.rateLimited),
    readHash(redis, KEYS.quotaDenied),
    readHash(redis, KEYS.credentialReveals),
    readHash(redis, KEYS.latency),
    readHash(redis, KEYS.latencySum),
  ]);
  const lines: string[] = [];
  family(lines, "tenantry_requests_total", "counter", "Requests by tenant, route pattern and status class.");
  for (const [field, value] of sorted(requests)) {
    const [tenant, route, statusClass] = field.split("|");
    lines.push(`tenantry_requests_total${labels({ tenant, route, status_class: statusClass })} ${value}`);
  }
  family(lines, "tenantry_rate_limited_total", "counter", "Requests refused by a tenant's rate limit.");
  for (const [tenant, value] of sorted(rateLimited))
    lines.push(`tenantry_rate_limited_total${labels({ tenant })} ${value}`);
  family(lines, "tenantry_quota_denied_total", "counter", "Creates refused by a count quota.");
  for (const [field, value] of sorted(quotaDenied)) {
    const [tenant, quota] = field.split("|");
    lines.push(`tenantry_quota_denied_total${labels({ tenant, quota })} ${value}`);
  }
  family(
    lines,
    "tenantry_credential_reveals_total",
    "counter",
    "Credential reveals by tenant (each one audited).",
  );
  for (const [tenant, value] of sorted(credentialReveals))
    lines.push(`tenantry_credential_reveals_total${labels({ tenant })} ${value}`);
  family(lines, "tenantry_request_duration_seconds", "histogram", "Request latency by route pattern.");
  for (const route of [...new Set([...latency.keys()].map((f) => f.slice(0, f.lastIndexOf("|"))))].sort()) {
    let cumulative = 0;
    for (const le of [...LATENCY_BUCKETS, "+Inf"] as const) {
      cumulative += latency.get(`${route}|${le}`) ?? 0;
      lines.push(
        `tenantry_request_duration_seconds_bucket${labels({ route, le: String(le) })} ${cumulative}`,
      );
    }
    lines.push(`tenantry_request_duration_seconds_sum${labels({ route })} ${latencySum.get(route) ?? 0}`);
    lines.push(`tenantry_request_duration_seconds_count${labels({ route })} ${cumulative}`);
  }
  return `${lines.join("\n")}\n`;
}

async function readHash(redis: Redis, key: string): Promise<Map<string, number>> {
  const stored = (await redis.hgetall<Record<string, string | number>>(key)) ?? {};
  return new Map(Object.entries(stored).map(([k, v]) => [k, Number(v)]));
}

function sorted(map: Map<string, number>): [string, number][] {
  return [...map.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

function family(lines: string[], name: string, type: string, help: string): void {
  lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
}

function labels(values: Record<string, string | undefined>): string {
  const parts = Object.entries(values).map(([k, v]) => `${k}="${escapeLabel(v ?? "")}"`);
  return `{${parts.join(",")}}`;
}

function escapeLabel(value: string): string {
  return value.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");
}
