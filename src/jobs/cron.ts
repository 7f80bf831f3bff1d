/**
 * `scheduled()`: one task per cron expression of wrangler.toml. Each run does a bounded
 * amount of work (a batch), sends what it enqueued after its transaction committed, and
 * logs one summary line with its counts and duration.
 */
import type { Database } from "../db/client";
import { openDatabase } from "../db/client";
import { type Bindings, type Config, loadConfig } from "../env";
import { clock } from "../lib/clock";
import { log, setLogLevel } from "../lib/log";
import { PURGE_CRON, RECONCILE_CRON } from "./policy";
import { sendJobs } from "./producer";
import { enqueuePurges } from "./purge";
import { reconcileJobs } from "./reconcile";

type Task = (db: Database, env: Bindings, config: Config) => Promise<Record<string, unknown>>;

const TASKS: Record<string, { name: string; run: Task }> = {
  [RECONCILE_CRON]: {
    name: "reconcile",
    run: async (db, env, config) => {
      const { resent, dead } = await reconcileJobs(db, {
        now: clock.now(),
        batchSize: config.RECONCILE_BATCH_SIZE,
      });
      await sendJobs(env.PROVISION_QUEUE, resent);
      return { resent: resent.length, dead: dead.length };
    },
  },
  [PURGE_CRON]: {
    name: "purge",
    run: async (db, env, config) => {
      const { jobIds, batchFull } = await enqueuePurges(db, {
        now: clock.now(),
        retentionDays: config.RETENTION_DAYS,
        batchSize: config.PURGE_BATCH_SIZE,
      });
      await sendJobs(env.PROVISION_QUEUE, jobIds);
      return { deprovision_jobs: jobIds.length, batch_full: batchFull };
    },
  },
};

export async function handleScheduled(
  controller: ScheduledController,
  env: Bindings,
  ctx: ExecutionContext,
): Promise<void> {
  const config = loadConfig(env);
  setLogLevel(config.LOG_LEVEL);
  const task = TASKS[controller.cron];
  if (!task) {
    // A cron added to wrangler.toml without a task here: fail the run so it shows up.
    log("error", "no task for this cron", { cron: controller.cron });
    throw new Error(`no scheduled task for cron "${controller.cron}"`);
  }
  const started = Date.now();
  const { db, close } = openDatabase(config);
  try {
    const summary = await task.run(db, env, config);
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
    throw err;
  } finally {
    ctx.waitUntil(close());
  }
}
