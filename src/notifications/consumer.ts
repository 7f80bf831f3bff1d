/**
 * `queue()` for NOTIFY_QUEUE: sends the notifications outbox's rows, under the provisioning
 * jobs' retry, backoff and dead rules (src/jobs/policy.ts, src/jobs/delivery.ts). Per message,
 * in one transaction that holds the row's lock throughout:
 *
 * 1. lock the row; one already `sent` or `dead` is acknowledged without sending again, and a
 *    second delivery of the same id waits here until the first has settled it (idempotent
 *    per message id);
 * 2. compose the email (template, payload, the sealed token opened) and send it over SMTP;
 * 3. record the outcome with the attempt: `sent`; `failed` with the next attempt's time and a
 *    retry after the backoff; `dead` after MAX_ATTEMPTS attempts or at once for a row that can
 *    never be sent. A settled row no longer holds its sealed secret.
 *
 * Sending is at-least-once: if the Worker dies after the SMTP server accepted the message
 * and before the row is `sent`, the transaction rolls back and the message is sent again
 * (with the same Message-ID).
 */
import { eq } from "drizzle-orm";
import { z } from "zod";
import { type Database, type Tx, withSystem } from "../db/client";
import { notifications } from "../db/schema";
import type { Bindings, Config } from "../env";
import { consumeBatch, type Disposition, handleMessage } from "../jobs/delivery";
import { MAX_ATTEMPTS, retryDelaySeconds } from "../jobs/policy";
import { clock } from "../lib/clock";
import { DecryptionError } from "../services/platform/crypto";
import { openSecret } from "./sealed-secret";
import { MailNotConfigured, sendEmail } from "./smtp";
import { composeEmail, UnsendableNotification } from "./templates";

const messageSchema = z.object({ notificationId: z.uuid() });

/** Stored errors stay short: an SMTP answer, not a transcript. */
const MAX_ERROR_LENGTH = 500;

type Row = typeof notifications.$inferSelect;

export function handleNotifications(
  batch: MessageBatch<unknown>,
  env: Bindings,
  ctx: ExecutionContext,
): Promise<void> {
  return consumeBatch(batch, env, ctx, (db, config, message) =>
    handleMessage(message, {
      what: "notification",
      schema: messageSchema,
      fields: ({ notificationId }) => ({ notification_id: notificationId }),
      deliver: ({ notificationId }) => deliver(db, config, notificationId),
    }),
  );
}

async function deliver(db: Database, config: Config, id: string): Promise<Disposition> {
  return withSystem(db, async (tx): Promise<Disposition> => {
    const [row] = await tx.select().from(notifications).where(eq(notifications.id, id)).for("update");
    // Gone with its tenant, or never committed.
    if (!row) return { settle: "ack", outcome: "missing" };
    if (row.status === "sent" || row.status === "dead")
      return { settle: "ack", outcome: `already_${row.status}` };

    const attempt = row.attempts + 1;
    const failure = await attemptSend(config, row);
    const at = new Date(clock.now());
    if (!failure) {
      await record(tx, id, { status: "sent", attempts: attempt, sentAt: at, lastError: null, sealed: null });
      return { settle: "ack", outcome: "sent" };
    }
    const lastError = failure.error.slice(0, MAX_ERROR_LENGTH);
    if (failure.permanent || attempt >= MAX_ATTEMPTS) {
      await record(tx, id, { status: "dead", attempts: attempt, lastError, sealed: null });
      return { settle: "dead", outcome: "dead" };
    }
    const delaySeconds = retryDelaySeconds(attempt);
    const nextAttemptAt = new Date(at.getTime() + delaySeconds * 1000);
    await record(tx, id, { status: "failed", attempts: attempt, lastError, nextAttemptAt });
    return { settle: "retry", outcome: "failed", delaySeconds };
  });
}

/** Undefined once the SMTP server accepted the message; otherwise why not, and whether a retry can help. */
async function attemptSend(
  config: Config,
  row: Row,
): Promise<{ error: string; permanent: boolean } | undefined> {
  try {
    const secret =
      row.sealed === null
        ? undefined
        : await openSecret(config.MASTER_KEY, { tenantId: row.tenantId, notificationId: row.id }, row.sealed);
    await sendEmail(config, await composeEmail(row, secret));
    return undefined;
  } catch (err) {
    const permanent =
      err instanceof UnsendableNotification ||
      err instanceof DecryptionError ||
      err instanceof MailNotConfigured;
    return { error: err instanceof Error ? err.message : String(err), permanent };
  }
}

function record(tx: Tx, id: string, fields: Partial<Row>): Promise<unknown> {
  return tx.update(notifications).set(fields).where(eq(notifications.id, id));
}
