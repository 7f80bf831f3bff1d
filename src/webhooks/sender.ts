/**
 * `queue()` for WEBHOOK_QUEUE: attempts one delivery per message, the batch's messages side by
 * side (one slow endpoint does not hold up the others). Per delivery:
 *
 * 1. claim it with a lease (`locked_until`), in one statement that refuses a delivery that is
 *    settled, not yet due, or leased by another consumer: a second message for the same
 *    delivery sends nothing, and no transaction stays open while the endpoint answers;
 * 2. POST the stored body with the Standard Webhooks headers, signed by the endpoint's secret
 *    (and, during a rotation, by the previous one as well), with a 10 s timeout and no
 *    redirects followed; the URL is checked against the SSRF rules again, as configured now;
 * 3. record the outcome with the attempt: `delivered`; `failed` and the next attempt after the
 *    schedule's delay (deliveries.ts), as a retry of this message; `dead` after the last
 *    attempt. The endpoint's failure streak moves with it, and an endpoint failing for
 *    FAILING_DISABLES_AFTER_MS is disabled and its tenant's admins are emailed, in the same
 *    statement (for a dedicated tenant, whose admins are in the control database, the emails
 *    are written there right after).
 *
 * The delivery is in the database of its tenant's own rows: the message names the tenant,
 * whose record (cached, as requests find it) says which; a tenant that is gone has nothing to
 * send. The tenant's data key, which seals the endpoint's secret, is in the control database.
 *
 * Sending is at-least-once: a consumer that dies after the endpoint answered and before the
 * outcome is recorded sends again (the same `webhook-id`) once its lease has run out.
 */
import { and, eq, isNotNull, isNull, type SQL, sql } from "drizzle-orm";
import { z } from "zod";
import { homeOf } from "../databases/routing";
import { type HttpDatabase, openHttp } from "../db/client";
import { notifications, tenants, users, webhookDeliveries, webhookEndpoints } from "../db/schema";
import { WriteBatch } from "../db/write-batch";
import { type Bindings, type Config, loadConfig } from "../env";
import { type Disposition, handleMessage } from "../jobs/delivery";
import { clock, DAY_MS } from "../lib/clock";
import { log, setLogLevel } from "../lib/log";
import { adminsOf } from "../notifications/admins";
import { sendNotifications } from "../notifications/outbox";
import { DecryptionError, decryptValue } from "../services/platform/crypto";
import { tenantDataKey } from "../services/resources/credentials";
import { deliveryRetrySeconds, MAX_DELIVERY_ATTEMPTS } from "./deliveries";
import { secretOwner } from "./endpoints";
import { webhookHeaders } from "./signature";
import { checkWebhookUrl } from "./url-policy";

const messageSchema = z.object({ deliveryId: z.uuid(), tenantId: z.uuid().optional() });

export const SEND_TIMEOUT_MS = 10_000;
/** Longer than a send can take, so a live sender never loses its lease. */
const LEASE_SECONDS = 30;
/** A message may come a little before the delivery's time (queue delays are not exact). */
const EARLY_SECONDS = 60;
/** An endpoint that has failed every delivery for this long is disabled. */
export const FAILING_DISABLES_AFTER_MS = 3 * DAY_MS;
const MAX_ERROR_LENGTH = 500;
const USER_AGENT = "Tenantry-Webhooks/1";

type DeliveryRow = typeof webhookDeliveries.$inferSelect;
type EndpointRow = typeof webhookEndpoints.$inferSelect;

export async function handleWebhookDeliveries(
  batch: MessageBatch<unknown>,
  env: Bindings,
  _ctx: ExecutionContext,
): Promise<void> {
  const config = loadConfig(env);
  setLogLevel(config.LOG_LEVEL);
  const http = openHttp(config);
  await Promise.all(
    batch.messages.map((message) =>
      handleMessage(message, {
        what: "webhook delivery",
        schema: messageSchema,
        fields: ({ deliveryId, tenantId }) => ({
          delivery_id: deliveryId,
          ...(tenantId ? { tenant_id: tenantId } : {}),
        }),
        deliver: async ({ deliveryId, tenantId }) => {
          if (tenantId === undefined) return deliver({ control: http, data: http }, env, config, deliveryId);
          // A moving tenant's deliveries wait: a lease or an outcome written while the rows are
          // copied could be left behind. The record says "moving" within its TTL, before the
          // move's copy begins (MOVE_SETTLE_MS); a delivery sent twice across a switch is what
          // at-least-once allows.
          const home = await homeOf(config, http, tenantId);
          if (home.state === "gone") return { settle: "ack", outcome: "tenant_gone" };
          if (home.state === "moving")
            return { settle: "retry", outcome: "tenant_moving", delaySeconds: MOVING_RETRY_S };
          return deliver({ control: http, data: home.data }, env, config, deliveryId);
        },
      }),
    ),
  );
}

/** A move takes seconds to minutes: look again in a minute. */
const MOVING_RETRY_S = 60;

/** The control database (the tenant's data key, its admins) and the one the delivery is in. */
interface Databases {
  control: HttpDatabase;
  data: HttpDatabase;
}

async function deliver(dbs: Databases, env: Bindings, config: Config, id: string): Promise<Disposition> {
  const claimed = await claim(dbs.data, id);
  if (!claimed) return { settle: "ack", outcome: "not_due_or_settled" };
  const { delivery, endpoint } = claimed;
  const attempt = delivery.attempts + 1;

  const refused = !endpoint.enabled ? "the endpoint is disabled" : refusedUrl(config, endpoint.url);
  if (refused) {
    await record(dbs, env, delivery, {
      attempt,
      status: "dead",
      error: refused,
      responseStatus: null,
      durationMs: null,
    });
    return { settle: "ack", outcome: "dead" };
  }

  const sent = await post(dbs.control, config, delivery, endpoint);
  if (sent.ok) {
    await record(dbs, env, delivery, { attempt, status: "delivered", ...sent });
    return { settle: "ack", outcome: "delivered" };
  }
  if (attempt >= MAX_DELIVERY_ATTEMPTS) {
    await record(dbs, env, delivery, { attempt, status: "dead", ...sent });
    return { settle: "ack", outcome: "dead" };
  }
  const delaySeconds = deliveryRetrySeconds(attempt);
  await record(dbs, env, delivery, { attempt, status: "failed", ...sent, delaySeconds });
  return { settle: "retry", outcome: "failed", delaySeconds };
}

/** The delivery, leased to this consumer, and its endpoint; undefined when there is nothing to send now. */
async function claim(http: HttpDatabase, id: string) {
  const batch = new WriteBatch(http, { system: true });
  const leased = batch.add(
    batch.db
      .update(webhookDeliveries)
      .set({ lockedUntil: sql`now() + make_interval(secs => ${LEASE_SECONDS})` })
      .where(
        and(
          eq(webhookDeliveries.id, id),
          sql`${webhookDeliveries.status} in ('pending', 'failed')`,
          sql`${webhookDeliveries.nextAttemptAt} <= now() + make_interval(secs => ${EARLY_SECONDS})`,
          sql`(${webhookDeliveries.lockedUntil} is null or ${webhookDeliveries.lockedUntil} < now())`,
        ),
      )
      .returning(),
  );
  const endpoint = batch.add(
    batch.db
      .select()
      .from(webhookEndpoints)
      .where(sql`${webhookEndpoints.id} = (select endpoint_id from ${webhookDeliveries} where id = ${id})`),
  );
  await batch.run();
  const [delivery] = leased.value;
  const [row] = endpoint.value;
  return delivery && row ? { delivery, endpoint: row } : undefined;
}

function refusedUrl(config: Config, url: string): string | undefined {
  const checked = checkWebhookUrl(url, { allowPrivate: config.WEBHOOK_ALLOW_PRIVATE });
  return checked.ok ? undefined : `the URL is no longer allowed: ${checked.message}`;
}

interface Sent {
  ok: boolean;
  responseStatus: number | null;
  durationMs: number | null;
  error: string | null;
}

async function post(
  http: HttpDatabase,
  config: Config,
  delivery: DeliveryRow,
  endpoint: EndpointRow,
): Promise<Sent> {
  let secrets: string[];
  try {
    secrets = await signingSecrets(http, config, endpoint);
  } catch (err) {
    if (!(err instanceof DecryptionError)) throw err;
    return {
      ok: false,
      responseStatus: null,
      durationMs: null,
      error: "the signing secret could not be decrypted",
    };
  }
  const body = JSON.stringify(delivery.payload);
  const timestamp = Math.floor(clock.now() / 1000);
  const headers = await webhookHeaders(secrets, delivery.id, timestamp, body);
  const started = Date.now();
  try {
    const res = await fetch(endpoint.url, {
      method: "POST",
      headers: { ...headers, "user-agent": USER_AGENT },
      body,
      redirect: "manual",
      signal: AbortSignal.timeout(SEND_TIMEOUT_MS),
    });
    const durationMs = Date.now() - started;
    // Only the status matters; the body is not read (nor kept).
    await res.body?.cancel();
    if (res.status >= 200 && res.status < 300)
      return { ok: true, responseStatus: res.status, durationMs, error: null };
    const error =
      res.status >= 300 && res.status < 400
        ? `the endpoint answered a redirect (${res.status}); redirects are not followed`
        : `the endpoint answered ${res.status}`;
    return { ok: false, responseStatus: res.status, durationMs, error };
  } catch (err) {
    const durationMs = Date.now() - started;
    const timedOut = err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError");
    const error = timedOut
      ? `no answer within ${SEND_TIMEOUT_MS / 1000} s`
      : `the request failed: ${err instanceof Error ? err.message : String(err)}`;
    return { ok: false, responseStatus: null, durationMs, error };
  }
}

/** The current secret, and the previous one while its rotation grace lasts. */
async function signingSecrets(http: HttpDatabase, config: Config, endpoint: EndpointRow): Promise<string[]> {
  const key = await tenantDataKey({ http, config }, endpoint.tenantId, { create: false });
  const owner = secretOwner(endpoint.tenantId, endpoint.id);
  const secrets = [
    await decryptValue(key, { ciphertext: endpoint.secretCiphertext, iv: endpoint.secretIv }, owner),
  ];
  const {
    previousSecretCiphertext: ciphertext,
    previousSecretIv: iv,
    previousSecretExpiresAt: until,
  } = endpoint;
  if (ciphertext !== null && iv !== null && until !== null && until.getTime() > clock.now()) {
    secrets.push(await decryptValue(key, { ciphertext, iv }, owner));
  }
  return secrets;
}

interface Outcome extends Omit<Sent, "ok"> {
  attempt: number;
  status: "delivered" | "failed" | "dead";
  delaySeconds?: number;
}

/**
 * The outcome, the endpoint's failure streak and (when the streak has reached its limit) the
 * endpoint disabled with one email per tenant admin: one batch, one transaction. A dedicated
 * tenant's admins are not in its database: the emails are a second batch, in the control
 * database, which a failure of leaves the endpoint disabled without them (logged).
 */
async function record(dbs: Databases, env: Bindings, delivery: DeliveryRow, outcome: Outcome): Promise<void> {
  const now = new Date(clock.now());
  const nextAttemptAt =
    outcome.delaySeconds === undefined ? now : new Date(now.getTime() + outcome.delaySeconds * 1000);
  const failingBefore = new Date(now.getTime() - FAILING_DISABLES_AFTER_MS).toISOString();
  const batch = new WriteBatch(dbs.data, { system: true });
  batch.do(
    batch.db
      .update(webhookDeliveries)
      .set({
        status: outcome.status,
        attempts: outcome.attempt,
        responseStatus: outcome.responseStatus,
        durationMs: outcome.durationMs,
        lastError: outcome.error?.slice(0, MAX_ERROR_LENGTH) ?? null,
        nextAttemptAt,
        lockedUntil: null,
        deliveredAt: outcome.status === "delivered" ? now : null,
      })
      .where(eq(webhookDeliveries.id, delivery.id)),
  );
  // The streak starts at the first failure after a success and ends at the next success;
  // only those changes write to the endpoint's row (a busy endpoint's row is not rewritten
  // by every delivery).
  batch.do(
    batch.db
      .update(webhookEndpoints)
      .set({ failingSince: outcome.status === "delivered" ? null : now })
      .where(
        and(
          eq(webhookEndpoints.id, delivery.endpointId),
          outcome.status === "delivered"
            ? isNotNull(webhookEndpoints.failingSince)
            : isNull(webhookEndpoints.failingSince),
        ),
      ),
  );
  const disable = sql`update ${webhookEndpoints}
    set enabled = false, disabled_reason = 'failing', updated_at = ${now.toISOString()}::timestamptz
    where ${webhookEndpoints.id} = ${delivery.endpointId} and ${webhookEndpoints.enabled}
      and ${webhookEndpoints.failingSince} < ${failingBefore}::timestamptz
    returning id, tenant_id, url, failing_since`;
  if (dbs.data === dbs.control) {
    const emails = batch.add(
      batch.db.execute<{ id: string }>(
        sql`with disabled as (${disable}) ${emailAdmins(sql`disabled d`, now)}`,
      ),
    );
    await batch.run();
    await sendNotifications(
      env.NOTIFY_QUEUE,
      emails.value.rows.map((row) => row.id),
    );
    return;
  }
  const disabled = batch.add(batch.db.execute<DisabledEndpoint>(disable));
  await batch.run();
  if (disabled.value.rows.length > 0) await emailAdminsInControl(dbs.control, env, disabled.value.rows, now);
}

/** What the disabling statement answers of the endpoint (`failing_since` as the driver reads it). */
interface DisabledEndpoint extends Record<string, unknown> {
  id: string;
  tenant_id: string;
  url: string;
  failing_since: string | Date;
}

/**
 * One `webhook_disabled` notification per admin of each endpoint's tenant, from `source`:
 * rows `d` with the disabled endpoint's id, tenant_id, url and failing_since.
 */
function emailAdmins(source: SQL, now: Date): SQL {
  return sql`insert into ${notifications} (id, tenant_id, channel, recipient, template, payload, next_attempt_at, created_at)
    select gen_random_uuid(), d.tenant_id, 'email', ${users.email}, 'webhook_disabled',
           jsonb_build_object('tenant_name', ${tenants.name}, 'tenant_slug', ${tenants.slug},
             'endpoint_id', d.id, 'url', d.url,
             'failing_since', to_char(d.failing_since at time zone 'utc', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')),
           ${now.toISOString()}::timestamptz, ${now.toISOString()}::timestamptz
    from ${source} join ${tenants} on ${tenants.id} = d.tenant_id ${adminsOf(sql`d.tenant_id`)}
    returning ${notifications.id}`;
}

/** The emails of endpoints a dedicated database disabled, written where the admins are. */
async function emailAdminsInControl(
  control: HttpDatabase,
  env: Bindings,
  disabled: DisabledEndpoint[],
  now: Date,
): Promise<void> {
  const endpoints = disabled.map((row) => ({
    id: row.id,
    tenant_id: row.tenant_id,
    url: row.url,
    failing_since: new Date(row.failing_since).toISOString(),
  }));
  try {
    const batch = new WriteBatch(control, { system: true });
    const emails = batch.add(
      batch.db.execute<{ id: string }>(
        emailAdmins(
          sql`jsonb_to_recordset(${JSON.stringify(endpoints)}::jsonb)
                as d(id uuid, tenant_id uuid, url text, failing_since timestamptz)`,
          now,
        ),
      ),
    );
    await batch.run();
    await sendNotifications(
      env.NOTIFY_QUEUE,
      emails.value.rows.map((row) => row.id),
    );
  } catch (err) {
    // The endpoint stays disabled (it says so, and why); only the email is lost.
    log("error", "webhook endpoint disabled, but its email could not be written", {
      endpoint_ids: endpoints.map((row) => row.id),
      error: err instanceof Error ? err.message : String(err),
    });
  }
}
