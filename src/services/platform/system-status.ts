/**
 * The operator status: database, Redis, the provisioner, the backlogs of the provisioning jobs,
 * the emails and the webhook deliveries, and the configuration warnings, gathered concurrently with every check bounded, so a dead or
 * hanging dependency shows up as a value in the answer, never as an error or a hang.
 */
import { inArray, sql } from "drizzle-orm";
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

/** Every tenant's jobs (system scope), in one statement over the jobs that are not finished well. */
async function queueBacklog(http: HttpDatabase): Promise<QueueBacklog> {
  const count = (status: string) =>
    sql<number>`count(*) filter (where ${provisioningJobs.status} = ${status})`.mapWith(Number);
  const [row] = await batchAsSystem(http, (db) =>
    db
      .select({
        pending: count("pending"),
        sent: count("sent"),
        failed: count("failed"),
        dead: count("dead"),
        oldest_age_s: sql<number | null>`floor(extract(epoch from now() - min(${provisioningJobs.createdAt})
          filter (where ${provisioningJobs.status} in ('pending', 'sent'))))`,
      })
      .from(provisioningJobs)
      .where(inArray(provisioningJobs.status, ["pending", "sent", "failed", "dead"])),
  );
  if (!row) throw new Error("the backlog query returned no row");
  return { ...row, oldest_age_s: row.oldest_age_s === null ? null : Number(row.oldest_age_s) };
}

/**
 * An outbox's rows that are not settled well (system scope), in one statement; both tables
 * keep `pending` and `failed` rows in a partial index on their due time.
 */
async function outboxBacklog(
  http: HttpDatabase,
  table: typeof notifications | typeof webhookDeliveries,
): Promise<OutboxBacklog> {
  const count = (status: string) =>
    sql<number>`count(*) filter (where ${table.status} = ${status})`.mapWith(Number);
  const [row] = await batchAsSystem(http, (db) =>
    db
      .select({
        pending: count("pending"),
        failed: count("failed"),
        dead: count("dead"),
        oldest_age_s: sql<number | null>`floor(extract(epoch from now() - min(${table.createdAt})
          filter (where ${table.status} in ('pending', 'failed'))))`,
      })
      .from(table)
      .where(inArray(table.status, ["pending", "failed", "dead"])),
  );
  if (!row) throw new Error("the backlog query returned no row");
  return { ...row, oldest_age_s: row.oldest_age_s === null ? null : Number(row.oldest_age_s) };
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
