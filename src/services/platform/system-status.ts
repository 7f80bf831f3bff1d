/**
 * The operator status: database, Redis, the provisioner, the backlogs of the provisioning jobs,
 * the emails and the webhook deliveries, and the configuration warnings, gathered concurrently with every check bounded, so a dead or
 * hanging dependency shows up as a value in the answer, never as an error or a hang.
 */
import { type SQL, sql } from "drizzle-orm";
import { batchAsSystem, type HttpDatabase } from "../../db/client";
import { notifications, provisioningJobs, webhookDeliveries } from "../../db/schema";
import type { Config } from "../../env";
import { type ProvisionerStatus, pingProvisioner } from "../../jobs/provisioner-client";
import { type ConfigWarning, configWarnings } from "./config-warnings";
import { type CheckResult, checkHealth } from "./health";

/** Same budget as the health probes and the provisioner ping: the whole status stays near 2 s. */
const QUEUE_TIMEOUT_MS = 2_000;

export interface QueueBacklog {
  pending: number;
  sent: number;
  failed: number;
  dead: number;
  /** Seconds since the oldest pending or sent job was created; null when there is none. */
  oldest_age_s: number | null;
}

export interface OutboxBacklog {
  pending: number;
  failed: number;
  dead: number;
  /** Seconds since the oldest pending or failed row was created; null when there is none. */
  oldest_age_s: number | null;
}

export interface SystemStatus {
  db: CheckResult;
  redis: CheckResult;
  provisioner: ProvisionerStatus;
  /** Null when the backlog could not be counted (database down or too slow). */
  queue: QueueBacklog | null;
  notifications: OutboxBacklog | null;
  webhooks: OutboxBacklog | null;
  warnings: ConfigWarning[];
}

export async function systemStatus(http: HttpDatabase, config: Config): Promise<SystemStatus> {
  const [health, provisioner, queue, emails, webhooks] = await Promise.all([
    checkHealth(http, config),
    pingProvisioner(config),
    within(QUEUE_TIMEOUT_MS, queueBacklog(http)),
    within(QUEUE_TIMEOUT_MS, outboxBacklog(http, notifications)),
    within(QUEUE_TIMEOUT_MS, outboxBacklog(http, webhookDeliveries)),
  ]);
  return {
    ...health.checks,
    provisioner,
    queue,
    notifications: emails,
    webhooks,
    warnings: configWarnings({ config, provisionerMode: provisioner.mode }),
  };
}

/** Every tenant's jobs (system scope) that are not finished well. */
function queueBacklog(http: HttpDatabase): Promise<QueueBacklog> {
  return backlog(http, provisioningJobs, ["pending", "sent", "failed", "dead"], ["pending", "sent"]);
}

/** An outbox's rows (system scope) that are not settled well: emails or webhook deliveries. */
function outboxBacklog(
  http: HttpDatabase,
  table: typeof notifications | typeof webhookDeliveries,
): Promise<OutboxBacklog> {
  return backlog(http, table, ["pending", "failed", "dead"], ["pending", "failed"]);
}

/**
 * How many rows of `table` are in each of `statuses`, and the age in seconds of the oldest
 * one still `open`, in one statement over those rows only.
 */
async function backlog<S extends string>(
  http: HttpDatabase,
  table: typeof provisioningJobs | typeof notifications | typeof webhookDeliveries,
  statuses: readonly S[],
  open: readonly S[],
): Promise<Record<S, number> & { oldest_age_s: number | null }> {
  const oneOf = (values: readonly S[]) =>
    sql`${table.status} in (${sql.join(
      values.map((value) => sql`${value}`),
      sql`, `,
    )})`;
  const counts = Object.fromEntries(
    statuses.map((status) => [
      status,
      sql<number>`count(*) filter (where ${table.status} = ${status})`.mapWith(Number),
    ]),
  ) as unknown as Record<S, SQL<number>>;
  const [row] = await batchAsSystem(http, (db) =>
    db
      .select({
        ...counts,
        oldest_age_s: sql<number | null>`floor(extract(epoch from now() - min(${table.createdAt})
          filter (where ${oneOf(open)})))`,
      })
      .from(table)
      .where(oneOf(statuses)),
  );
  if (!row) throw new Error("the backlog query returned no row");
  const { oldest_age_s, ...rest } = row as Record<string, unknown>;
  return {
    ...(rest as Record<S, number>),
    oldest_age_s: oldest_age_s === null ? null : Number(oldest_age_s),
  };
}

/** The promise's value, or null when it fails or outlasts `ms` (its late outcome is ignored). */
async function within<T>(ms: number, promise: Promise<T>): Promise<T | null> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), ms);
  });
  try {
    return await Promise.race([promise.catch(() => null), timeout]);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}
