/**
 * What every queue consumer of the Worker shares (provisioning jobs, notifications): one
 * database handle per batch, its messages one after another, and each message settled the
 * way its delivery decided, under the same retry, backoff and dead rules (policy.ts).
 */
import type { z } from "zod";
import { type Database, openDatabase } from "../db/client";
import { type Bindings, type Config, loadConfig } from "../env";
import { log, setLogLevel } from "../lib/log";
import { MAX_ATTEMPTS, retryDelaySeconds } from "./policy";

/** What became of one delivery, and so of its message. */
export type Disposition =
  | { settle: "ack"; outcome: string }
  /** `planned`: a wait the handler asked for (not yet due), not a failure: logged as info. */
  | { settle: "retry"; outcome: string; delaySeconds: number; planned?: boolean }
  | { settle: "dead"; outcome: string };

/** Runs `handle` for each message of the batch in turn, with the batch's configuration and database. */
export async function consumeBatch(
  batch: MessageBatch<unknown>,
  env: Bindings,
  ctx: ExecutionContext,
  handle: (db: Database, config: Config, message: Message<unknown>) => Promise<void>,
): Promise<void> {
  const config = loadConfig(env);
  setLogLevel(config.LOG_LEVEL);
  const { db, close } = openDatabase(config);
  try {
    for (const message of batch.messages) await handle(db, config, message);
  } finally {
    ctx.waitUntil(close());
  }
}

export interface MessageHandling<Body> {
  /** What the message carries, in log lines: "provisioning job", "notification". */
  what: string;
  schema: z.ZodType<Body>;
  /** The ids a log line names (never anything secret). */
  fields(body: Body): Record<string, string>;
  deliver(body: Body): Promise<Disposition>;
}

/**
 * Delivers one message and settles it: `ack` when done; `retry` after the delivery's
 * backoff; for `dead`, the message's last allowed delivery goes on to the dead-letter queue
 * of wrangler.toml, and an earlier one (the row's attempts were used up by reconciler
 * resends, or the failure cannot get better) has nothing left to do. A delivery that throws
 * (the database, most likely, before an outcome was recorded) is tried again.
 */
export async function handleMessage<Body>(
  message: Message<unknown>,
  handling: MessageHandling<Body>,
): Promise<void> {
  const parsed = handling.schema.safeParse(message.body);
  if (!parsed.success) {
    // Retrying cannot make it readable; the reconciler still covers the row, if there is one.
    log("warn", `unreadable ${handling.what} message dropped`, { message_id: message.id });
    message.ack();
    return;
  }
  const fields = handling.fields(parsed.data);
  const started = Date.now();
  let disposition: Disposition;
  try {
    disposition = await handling.deliver(parsed.data);
  } catch (err) {
    disposition = { settle: "retry", outcome: "error", delaySeconds: retryDelaySeconds(message.attempts) };
    log("error", `${handling.what} could not be processed`, {
      ...fields,
      error: err instanceof Error ? err.message : String(err),
    });
  }
  const quiet =
    disposition.settle === "ack" || (disposition.settle === "retry" && disposition.planned === true);
  log(quiet ? "info" : "warn", handling.what, {
    ...fields,
    outcome: disposition.outcome,
    message_attempts: message.attempts,
    duration_ms: Date.now() - started,
  });
  if (disposition.settle === "ack") message.ack();
  else if (disposition.settle === "retry") message.retry({ delaySeconds: disposition.delaySeconds });
  else if (message.attempts >= MAX_ATTEMPTS) message.retry();
  else message.ack();
}
