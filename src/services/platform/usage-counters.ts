/**
 * The Redis side of daily usage: one hash per tenant and UTC day holding the day's counters,
 * written by the metrics flush (`metrics.ts`, the same pipeline as `/metrics`' counters, after
 * the response), and a queue of the (day, tenant) pairs whose hash changed since the rollup
 * (`src/jobs/usage-rollup.ts`) last carried it into Postgres.
 *
 * Every flush also bumps the hash's version field `v`. The rollup reads a hash (counters and
 * version in one HGETALL, so they agree), writes the counters, and only then takes the pair
 * off the queue, and only if the version is still the one it read: a flush that landed in
 * between keeps the pair queued for the next run, so no count is ever left behind.
 */

import type { Redis } from "@upstash/redis/cloudflare";
import { DAY_MS } from "../../lib/clock";

/** The counters of a tenant's day, named as the `usage_daily` columns and the API name them. */
export const DAY_COUNTERS = [
  "api_calls_2xx",
  "api_calls_3xx",
  "api_calls_4xx",
  "api_calls_5xx",
  "rate_limited",
  "quota_denied",
  "credential_reveals",
] as const;
export type DayCounter = (typeof DAY_COUNTERS)[number];
export type DayCounts = Record<DayCounter, number>;

/** The hash field every flush increments, so the rollup can tell whether it read the latest. */
export const VERSION_FIELD = "v";

/** Pairs whose counters changed since they were last rolled up; scored by when they were queued. */
export const PENDING_KEY = "usage:daily:pending";

/**
 * How long a day's hash outlives its last write: long enough for the rollup to catch up after
 * a week without crons; the day's numbers are in Postgres long before.
 */
export const DAY_HASH_RETENTION_S = 8 * 24 * 3600;

const DAY_PATTERN = /^\d{4}-\d{2}-\d{2}$/;
const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The UTC day (`YYYY-MM-DD`) of an instant. */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** `day` plus `days` (negative for earlier), as a UTC day. */
export function addDays(day: string, days: number): string {
  return utcDay(Date.parse(`${day}T00:00:00Z`) + days * DAY_MS);
}

export function dayHashKey(day: string, tenantId: string): string {
  return `usage:daily:${day}:${tenantId}`;
}

/** The queue member of a (day, tenant) pair. */
export function pendingMember(day: string, tenantId: string): string {
  return `${day}|${tenantId}`;
}

/** The counter a request's status adds to, or undefined for a status outside 2xx–5xx. */
export function statusCounter(status: number): DayCounter | undefined {
  const counter = `api_calls_${Math.floor(status / 100)}xx`;
  return (DAY_COUNTERS as readonly string[]).includes(counter) ? (counter as DayCounter) : undefined;
}

/** One queued pair with the counters and version its hash held when read. */
export interface PendingDay {
  member: string;
  day: string;
  tenantId: string;
  counts: DayCounts;
  /** The version read with the counters ("" when the hash has expired). */
  version: string;
}

/**
 * The `limit` pairs queued longest, each with its hash, in two Redis calls. A member that is
 * not a (day, uuid) pair cannot come from the flush; it is returned with `tenantId` "" so the
 * caller settles it away instead of carrying it forever.
 */
export async function readPendingDays(redis: Redis, limit: number): Promise<PendingDay[]> {
  const members = await redis.zrange<string[]>(PENDING_KEY, 0, limit - 1);
  if (members.length === 0) return [];
  const parsed = members.map((member) => {
    const [day = "", tenantId = ""] = String(member).split("|");
    const valid = DAY_PATTERN.test(day) && UUID_PATTERN.test(tenantId);
    return { member: String(member), day, tenantId: valid ? tenantId : "" };
  });
  const p = redis.pipeline();
  for (const { day, tenantId } of parsed) p.hgetall(dayHashKey(day, tenantId));
  const hashes = await p.exec<Array<Record<string, unknown> | null>>();
  return parsed.map((pair, i) => {
    const hash = hashes[i] ?? {};
    const counts = Object.fromEntries(
      DAY_COUNTERS.map((counter) => [counter, Number(hash[counter] ?? 0)]),
    ) as DayCounts;
    const version = hash[VERSION_FIELD];
    return { ...pair, counts, version: version === undefined ? "" : String(version) };
  });
}

/**
 * Takes each pair off the queue unless its hash changed since it was read (its version moved
 * on): one script, so the check and the removal are atomic against a concurrent flush.
 */
const SETTLE_SCRIPT = `
local removed = 0
for i = 2, #KEYS do
  local member = ARGV[(i - 2) * 2 + 1]
  local version = ARGV[(i - 2) * 2 + 2]
  if (redis.call('HGET', KEYS[i], '${VERSION_FIELD}') or '') == version then
    removed = removed + redis.call('ZREM', KEYS[1], member)
  end
end
return removed
`;

/** Removes the settled pairs from the queue; answers how many were removed. */
export async function settlePendingDays(redis: Redis, days: PendingDay[]): Promise<number> {
  if (days.length === 0) return 0;
  const keys = [PENDING_KEY, ...days.map((d) => dayHashKey(d.day, d.tenantId))];
  const args = days.flatMap((d) => [d.member, d.version]);
  return Number(await redis.eval(SETTLE_SCRIPT, keys, args));
}
