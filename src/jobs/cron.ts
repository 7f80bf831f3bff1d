/**
 * `scheduled()`: the tasks of each cron expression of wrangler.toml. Each task does a bounded
 * amount of work (a batch), sends what it enqueued after its transaction committed, and logs
 * one summary line with its counts and duration. The tasks of one cron run one after the
 * other, each whatever the one before did: a failed task fails the run once every task ran.
 */
import { type DatabaseHandle, openDatabase } from "../db/client";
import { type Bindings, type Config, loadConfig } from "../env";
import { clock } from "../lib/clock";
import { log, setLogLevel } from "../lib/log";
import { reconcileMovesTask } from "../moves/reconcile";
import { expiringKeysTask } from "../notifications/expiring-keys";
import { reconcileNotificationsTask } from "../notifications/reconcile";
import { reconcileWebhooksTask, webhookRetentionTask } from "../webhooks/reconcile";
import { PURGE_CRON, RECONCILE_CRON } from "./policy";
import { sendJobs } from "./producer";
import { enqueuePurges } from "./purge";
import { reconcileJobs } from "./reconcile";
import { purgeOldUsage, rollupDailyUsage } from "./usage-rollup";

interface Task {
  name: string;
  run: (handle: DatabaseHandle, env: Bindings, config: Config) => Promise<Record<string, unknown>>;
}

const TASKS: Record<string, Task[]> = {
  [RECONCILE_CRON]: [
    {
      name: "reconcile",
      run: async ({ db }, env, config) => {
        const { resent, dead } = await reconcileJobs(db, {
          now: clock.now(),
          batchSize: config.RECONCILE_BATCH_SIZE,
        });
        await sendJobs(env.PROVISION_QUEUE, resent);
        return { resent: resent.length, dead: dead.length };
      },
    },
    reconcileNotificationsTask,
    reconcileMovesTask,
    // After the jobs' reconcile: a job it marks dead is a `provisioning.dead` event to queue.
    reconcileWebhooksTask,
    {
      name: "usage-rollup",
      run: async ({ http }, _env, config) => {
        const result = await rollupDailyUsage(http, config, {
          now: clock.now(),
          batchSize: config.USAGE_ROLLUP_BATCH_SIZE,
        });
        return { ...result };
      },
    },
  ],
  [PURGE_CRON]: [
    {
      name: "purge",
      run: async ({ db }, env, config) => {
        const { jobIds, batchFull } = await enqueuePurges(db, {
          now: clock.now(),
          retentionDays: config.RETENTION_DAYS,
          batchSize: config.PURGE_BATCH_SIZE,
        });
        await sendJobs(env.PROVISION_QUEUE, jobIds);
        return { deprovision_jobs: jobIds.length, batch_full: batchFull };
      },
    },
    expiringKeysTask,
    webhookRetentionTask,
    {
      name: "usage-retention",
      run: async ({ http }, _env, config) => {
        const { deleted, batchFull } = await purgeOldUsage(http, {
          now: clock.now(),
          batchSize: config.USAGE_PURGE_BATCH_SIZE,
        });
        return { deleted, batch_full: batchFull };
      },
    },
  ],
};

export async function handleScheduled(
  controller: ScheduledController,
  env: Bindings,
  ctx: ExecutionContext,
): Promise<void> {
  const config = loadConfig(env);
  setLogLevel(config.LOG_LEVEL);
  const tasks = TASKS[controller.cron];
  if (!tasks) {
    // A cron added to wrangler.toml without a task here: fail the run so it shows up.
    log("error", "no task for this cron", { cron: controller.cron });
    throw new Error(`no scheduled task for cron "${controller.cron}"`);
  }
  const handle = openDatabase(config);
  const failures: unknown[] = [];
  try {
    for (const task of tasks) {
      const started = Date.now();
      try {
        const summary = await task.run(handle, env, config);
        log("info", `cron ${task.name}`, {
          cron: controller.cron,
          ...summary,
          duration_ms: Date.now() - started,
        });
      } catch (err) {
        log("error", `cron ${task.name} failed`, {
          cron: controller.cron,
          error: err instanceof Error ? err.message : String(err),
          duration_ms: Date.now() - started,
        });
        failures.push(err);
      }
    }
  } finally {
    ctx.waitUntil(handle.close());
  }
  if (failures.length === 1) throw failures[0];
  if (failures.length > 1) throw new AggregateError(failures, `${failures.length} scheduled tasks failed`);
}
