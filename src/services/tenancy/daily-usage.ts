/**
 * Daily usage as the API answers it: per tenant and UTC day, the counters the rollup carried
 * from Redis into `usage_daily` (`src/jobs/usage-rollup.ts`) and the day's snapshot of rows and
 * namespace quota. A range is a contiguous series: a day without a row is all zeros, with
 * no snapshot (null). Nothing here reads Redis: the numbers are Postgres's, so today's lag
 * behind the live counters by up to the rollup's interval.
 */

import { and, asc, between, eq, exists, sql } from "drizzle-orm";
import { batchAsSystem, batchAsTenant, type HttpDatabase } from "../../db/client";
import { tenants, usageDaily } from "../../db/schema";
import { DAY_MS } from "../../lib/clock";
import { toCsv } from "../../lib/csv";
import { keyset, type PageQuery, toPage } from "../../lib/pagination";
import { Problem } from "../../lib/problem";
import { addDays, DAY_COUNTERS, utcDay } from "../platform/usage-counters";

/** Days kept: the purge deletes older rows, and no range may span more. */
export const USAGE_RETENTION_DAYS = 400;
/** The range when none is asked for: the last 30 days, today included. */
export const DEFAULT_RANGE_DAYS = 30;

export interface DayRange {
  from: string;
  to: string;
}

type UsageRow = typeof usageDaily.$inferSelect;

/** One day of one tenant, as JSON and CSV present it (one field per CSV column). */
export type UsageDay = ReturnType<typeof presentDay>;
export type TenantDailyUsage = ReturnType<typeof series>;

/** The CSV columns, in order: the tenant, then every field of a day. */
export const USAGE_CSV_COLUMNS = [
  "tenant_id",
  "day",
  "api_calls",
  ...DAY_COUNTERS,
  "members",
  "api_keys",
  "clusters",
  "plugins",
  "credentials",
  "quota_cpu_cores",
  "quota_memory_gb",
  "quota_storage_gb",
  "quota_gpus",
  "snapshot_at",
] as const satisfies ReadonlyArray<keyof UsageDay | "tenant_id">;

/**
 * The range a query asks for, with its defaults: `to` is today (UTC), `from` is 29 days
 * before `to`. `from` after `to`, or more than USAGE_RETENTION_DAYS days, is 400
 * `validation_failed` naming the parameter.
 */
export function dayRange(query: { from?: string; to?: string }, now: number): DayRange {
  const to = query.to ?? utcDay(now);
  const from = query.from ?? addDays(to, -(DEFAULT_RANGE_DAYS - 1));
  if (from > to) throw invalidRange("from", "`from` must not be after `to`.", "invalid_range");
  if (daysIn({ from, to }) > USAGE_RETENTION_DAYS)
    throw invalidRange(
      "to",
      `A range spans at most ${USAGE_RETENTION_DAYS} days (the days kept); ask for several.`,
      "too_big",
    );
  return { from, to };
}

/** The tenant's days in the range, in one round trip under its row-level security. */
export async function tenantDailyUsage(http: HttpDatabase, tenantId: string, range: DayRange) {
  const rows = await batchAsTenant(http, tenantId, (db) =>
    db
      .select()
      .from(usageDaily)
      .where(and(eq(usageDaily.tenantId, tenantId), between(usageDaily.day, range.from, range.to)))
      .orderBy(asc(usageDaily.day)),
  );
  return series(tenantId, range, rows);
}

/**
 * Every tenant with usage in the range, a page of tenants at a time (ordered by creation,
 * like every list), each with its contiguous series: one statement, one round trip.
 */
export async function allTenantsDailyUsage(http: HttpDatabase, range: DayRange, query: PageQuery) {
  const inRange = between(usageDaily.day, range.from, range.to);
  const rows = await batchAsSystem(http, (db) => {
    const pageKeys = keyset(tenants, query);
    const page = db
      .select({ id: tenants.id, createdAt: tenants.createdAt })
      .from(tenants)
      .where(
        and(
          exists(
            db
              .select({ one: sql`1` })
              .from(usageDaily)
              .where(and(eq(usageDaily.tenantId, tenants.id), inRange)),
          ),
          pageKeys.after,
        ),
      )
      .orderBy(...pageKeys.orderBy)
      .limit(pageKeys.take)
      .as("page");
    return db
      .select({ id: page.id, createdAt: page.createdAt, usage: usageDaily })
      .from(page)
      .innerJoin(usageDaily, and(eq(usageDaily.tenantId, page.id), inRange))
      .orderBy(asc(page.createdAt), asc(page.id), asc(usageDaily.day));
  });
  const groups: Array<{ id: string; createdAt: Date; rows: UsageRow[] }> = [];
  for (const row of rows) {
    const last = groups.at(-1);
    if (last?.id === row.id) last.rows.push(row.usage);
    else groups.push({ id: row.id, createdAt: row.createdAt, rows: [row.usage] });
  }
  return toPage(groups, query.limit, (group) => series(group.id, range, group.rows));
}

/** The days of `items` as CSV: a header row, then one record per tenant and day. */
export function usageCsv(items: TenantDailyUsage[]): string {
  return toCsv(
    USAGE_CSV_COLUMNS,
    items.flatMap((item) =>
      item.days.map((day) =>
        USAGE_CSV_COLUMNS.map((column) => (column === "tenant_id" ? item.tenant_id : day[column])),
      ),
    ),
  );
}

function series(tenantId: string, range: DayRange, rows: UsageRow[]) {
  const byDay = new Map(rows.map((row) => [row.day, row]));
  const days = Array.from({ length: daysIn(range) }, (_, i) => {
    const day = addDays(range.from, i);
    return presentDay(day, byDay.get(day));
  });
  return { tenant_id: tenantId, from: range.from, to: range.to, days };
}

function presentDay(day: string, row: UsageRow | undefined) {
  const calls = {
    api_calls_2xx: row?.apiCalls2xx ?? 0,
    api_calls_3xx: row?.apiCalls3xx ?? 0,
    api_calls_4xx: row?.apiCalls4xx ?? 0,
    api_calls_5xx: row?.apiCalls5xx ?? 0,
  };
  return {
    day,
    api_calls: calls.api_calls_2xx + calls.api_calls_3xx + calls.api_calls_4xx + calls.api_calls_5xx,
    ...calls,
    rate_limited: row?.rateLimited ?? 0,
    quota_denied: row?.quotaDenied ?? 0,
    credential_reveals: row?.credentialReveals ?? 0,
    members: row?.members ?? null,
    api_keys: row?.apiKeys ?? null,
    clusters: row?.clusters ?? null,
    plugins: row?.plugins ?? null,
    credentials: row?.credentials ?? null,
    quota_cpu_cores: row?.cpuCores ?? null,
    quota_memory_gb: row?.memoryGb ?? null,
    quota_storage_gb: row?.storageGb ?? null,
    quota_gpus: row?.gpus ?? null,
    snapshot_at: row?.snapshotAt?.toISOString() ?? null,
  };
}

function daysIn(range: DayRange): number {
  return Math.round((Date.parse(range.to) - Date.parse(range.from)) / DAY_MS) + 1;
}

function invalidRange(path: "from" | "to", message: string, code: string): Problem {
  return new Problem("validation_failed", message, { extensions: { errors: [{ path, message, code }] } });
}
