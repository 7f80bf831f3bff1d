/**
 * The pipeline's timing: how often and how patiently a job is tried, when a job counts as
 * stuck, and which cron runs what. wrangler.toml's queue consumer (`max_retries = 5`,
 * `retry_delay = 5`) and `crons` must agree with these; `test/stack/queue-config.test.ts`
 * keeps them in step.
 */

/** Cron expressions of wrangler.toml's `[triggers]`, dispatched on in cron.ts. */
export const RECONCILE_CRON = "*/5 * * * *";
export const PURGE_CRON = "0 3 * * *";

/** Deliveries a job gets before it is `dead`: the first one plus wrangler.toml's `max_retries`. */
export const MAX_ATTEMPTS = 6;

/** The delay before the first retry; it doubles per attempt (5, 10, 20, 40, 80 s). */
export const RETRY_BASE_SECONDS = 5;

/** A `pending` or `sent` job nobody has touched for this long has lost its queue message. */
export const STALE_AFTER_MS = 2 * 60_000;

/**
 * The delay before retrying after failed attempt `attempt` (1-based): exponential, with
 * "equal jitter" (a random point in the upper half) so that jobs failing together during
 * a provisioner outage do not all come back in the same second. Attempt n's range is
 * [d/2, d] with d = base·2^(n-1), so a later attempt never waits less than an earlier one.
 */
export function retryDelaySeconds(attempt: number, random: () => number = Math.random): number {
  const ceiling = RETRY_BASE_SECONDS * 2 ** (Math.max(1, attempt) - 1);
  return Math.ceil(ceiling / 2 + (ceiling / 2) * random());
}

/** The longest a `failed` job can legitimately wait for its retry message. */
export const MAX_RETRY_DELAY_MS = RETRY_BASE_SECONDS * 2 ** (MAX_ATTEMPTS - 2) * 1000;
