/**
 * Daily usage off the request path (docs/api.md, "Daily usage"):
 *
 * - `rollupDailyUsage` (every five minutes) carries the day counters the metrics flush keeps
 *   in Redis (`services/platform/usage-counters.ts`) into `usage_daily`, then snapshots row
 *   counts and the namespace quota in force for today. Each run takes at most
 *   USAGE_ROLLUP_BATCH_SIZE queued (day, tenant) pairs, oldest first, and as many tenants,
 *   stalest snapshot first; what is left waits for the next run.
 * - `purgeOldUsage` (daily) deletes rows older than the 400 days kept, in bounded batches.
 *
 * Reruns never double count: the counters in Redis are the day's absolute values, and the
 * upsert keeps the larger of what Postgres holds and what was read (a day's counters only
 * grow), so running twice, or two runs overlapping with reads taken at different moments,
 * ends with the latest value. Overlapping runs also take their writes one at a time (an
 * advisory lock at the head of each write batch), so they never deadlock over the same rows.
 * Every write is one SQL-over-HTTP batch: no Pool is opened.
 */
import { and, asc, eq, type SQL, sql } from "drizzle-orm";
import { type HttpDatabase, readAsSystem, tenantSetting } from "../db/client";
import { tenants, usageDaily } from "../db/schema";
import { WriteBatch } from "../db/write-batch";
import type { Config } from "../env";
import { redisFor } from "../services/platform/redis";
import {
  addDays,
  DAY_COUNTERS,
  type PendingDay,
  readPendingDays,
  settlePendingDays,
  utcDay,
} from "../services/platform/usage-counters";
import { USAGE_RETENTION_DAYS } from "../services/tenancy/daily-usage";
import {
  type CountQuota,
  effectiveQuotas,
  NAMESPACE_QUOTAS,
  type PlanSubject,
} from "../services/tenancy/plans";
import { usageCountsQuery } from "../services/tenancy/quotas";

/** Purge statements per run: with the default batch, 20,000 rows a run, and a day has one row per tenant. */
const MAX_PURGE_BATCHES = 20;

const rollupLock = sql`select pg_advisory_xact_lock(hashtextextended('usage_daily:rollup', 0))`;

export interface RollupResult {
  /** (day, tenant) pairs whose counters were written. */
  days: number;
  /** Pairs taken off the queue (a pair that changed meanwhile stays for the next run). */
  settled: number;
  /** The queue had at least a batch: more may be waiting. */
  backlog: boolean;
  /** Tenants whose row counts and namespace quota were snapshotted for today. */
  snapshots: number;
}

export async function rollupDailyUsage(
  http: HttpDatabase,
  config: Config,
  opts: { now: number; batchSize: number },
): Promise<RollupResult> {
  const redis = redisFor(config);
  const pending = await readPendingDays(redis, opts.batchSize);
  const days = pending.filter((p) => p.tenantId !== "");
  if (days.length > 0) {
    const batch = new WriteBatch(http, { system: true });
    batch.do(rollupLock);
    batch.do(countersUpsert(days, new Date(opts.now)));
    await batch.run();
  }
  // Only once Postgres holds them: a failed write leaves every pair queued.
  const settled = await settlePendingDays(redis, pending);
  const snapshots = await snapshotToday(http, opts);
  return { days: days.length, settled, backlog: pending.length === opts.batchSize, snapshots };
}

/**
 * Deletes the rows of days before the 400 kept (today is the 400th), USAGE_PURGE_BATCH_SIZE
 * rows per statement and at most MAX_PURGE_BATCHES statements per run.
 */
export async function purgeOldUsage(
  http: HttpDatabase,
  opts: { now: number; batchSize: number },
): Promise<{ deleted: number; batchFull: boolean }> {
  const keepFrom = addDays(utcDay(opts.now), -(USAGE_RETENTION_DAYS - 1));
  let deleted = 0;
  for (let i = 0; i < MAX_PURGE_BATCHES; i++) {
    const batch = new WriteBatch(http, { system: true });
    // The ctids are picked once (an array, evaluated before the delete): a `where … in
    // (select … limit n)` may be rescanned per row and delete more than n.
    const gone = batch.add(
      batch.db
        .delete(usageDaily)
        .where(
          sql`ctid = any(array(select ctid from ${usageDaily} where ${usageDaily.day} < ${keepFrom} limit ${opts.batchSize}))`,
        )
        .returning({ day: usageDaily.day }),
    );
    await batch.run();
    deleted += gone.value.length;
    if (gone.value.length < opts.batchSize) return { deleted, batchFull: false };
  }
  return { deleted, batchFull: true };
}

/** One statement for every pair: the larger of the stored and the read value per counter. */
function countersUpsert(days: PendingDay[], at: Date): SQL {
  const counters = DAY_COUNTERS.map((c) => sql.identifier(c));
  const rows = days.map(
    (d) =>
      sql`(${d.tenantId}::uuid, ${d.day}::date, ${sql.join(
        DAY_COUNTERS.map((c) => sql`${d.counts[c]}::bigint`),
        sql`, `,
      )})`,
  );
  const larger = counters.map((c) => sql`${c} = greatest(${usageDaily}.${c}, excluded.${c})`);
  // A tenant purged since its requests were counted has nothing left to attribute them to.
  return sql`insert into ${usageDaily} (tenant_id, day, ${sql.join(counters, sql`, `)}, updated_at)
    select v.tenant_id, v.day, ${sql.join(
      counters.map((c) => sql`v.${c}`),
      sql`, `,
    )}, ${at.toISOString()}::timestamptz
    from (values ${sql.join(rows, sql`, `)}) as v (tenant_id, day, ${sql.join(counters, sql`, `)})
    where exists (select 1 from ${tenants} where ${tenants.id} = v.tenant_id)
    on conflict (tenant_id, day) do update set ${sql.join(larger, sql`, `)}, updated_at = excluded.updated_at`;
}

/**
 * Today's snapshot of up to `batchSize` tenants: those never snapshotted today first (the
 * ones with activity before the others), then the stalest. One read picks them, one write
 * batch counts and stores each under its own tenant's row-level security.
 */
async function snapshotToday(http: HttpDatabase, opts: { now: number; batchSize: number }): Promise<number> {
  const day = utcDay(opts.now);
  const [candidates] = await readAsSystem(http, (db) => [
    db
      .select({
        id: tenants.id,
        plan: tenants.plan,
        quotaOverrides: tenants.quotaOverrides,
        features: tenants.features,
      })
      .from(tenants)
      .leftJoin(usageDaily, and(eq(usageDaily.tenantId, tenants.id), eq(usageDaily.day, day)))
      .orderBy(
        sql`${usageDaily.snapshotAt} asc nulls first`,
        sql`${usageDaily.tenantId} is null`,
        asc(tenants.id),
      )
      .limit(opts.batchSize),
  ]);
  if (candidates.length === 0) return 0;
  const at = new Date(opts.now);
  const batch = new WriteBatch(http, { system: true });
  batch.do(rollupLock);
  for (const tenant of candidates) {
    batch.do(tenantSetting(tenant.id));
    batch.do(snapshotUpsert(batch.db, tenant, day, at));
  }
  await batch.run();
  return candidates.length;
}

/**
 * The resource kinds a day's row counts (usage_daily has a column for each; a webhook endpoint
 * costs nothing to keep, so it is not among them), as the count quotas count them.
 */
const SNAPSHOT_COUNTS = [
  "members",
  "api_keys",
  "clusters",
  "plugins",
  "credentials",
] as const satisfies readonly CountQuota[];

/** Those rows and the namespace quotas in force, as columns of that name. */
const SNAPSHOT_COLUMNS = [...SNAPSHOT_COUNTS, ...NAMESPACE_QUOTAS] as const;

function snapshotUpsert(db: HttpDatabase, tenant: { id: string } & PlanSubject, day: string, at: Date): SQL {
  const quotas = effectiveQuotas(tenant);
  const columns = SNAPSHOT_COLUMNS.map((c) => sql.identifier(c));
  const values = [
    ...SNAPSHOT_COUNTS.map((q) => sql`c.${sql.identifier(q)}`),
    ...NAMESPACE_QUOTAS.map((q) => sql`${quotas[q]}::float8`),
  ];
  const stamp = sql`${at.toISOString()}::timestamptz`;
  return sql`insert into ${usageDaily} (tenant_id, day, ${sql.join(columns, sql`, `)}, snapshot_at, updated_at)
    select ${tenant.id}::uuid, ${day}::date, ${sql.join(values, sql`, `)}, ${stamp}, ${stamp}
    from (${usageCountsQuery(db, tenant.id)}) c
    where exists (select 1 from ${tenants} where ${tenants.id} = ${tenant.id}::uuid)
    on conflict (tenant_id, day) do update set ${sql.join(
      columns.map((c) => sql`${c} = excluded.${c}`),
      sql`, `,
    )}, snapshot_at = excluded.snapshot_at, updated_at = excluded.updated_at`;
}
