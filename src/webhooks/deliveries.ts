/**
 * Webhook deliveries, producer side: the retry schedule, handing written deliveries to the
 * webhooks queue (`dispatchPending`), the delivery log, replay and the test event.
 *
 * Deliveries are written in the transaction of the change they tell about, by SQL
 * (`tenantry_emit_webhook_event`, migration 0012: the audit trigger, the job consumer, the
 * daily key reminder), so a request does not know their ids. After a write the request sweeps
 * its tenant's deliveries that no queue has seen yet (`queued_at is null`, a small partial
 * index) and sends them, off the response path; the reconciler is the safety net for a sweep
 * or a send that never happened.
 */
import { and, eq, type SQL, sql } from "drizzle-orm";
import { type HttpDatabase, type Queryable, readAsTenant } from "../db/client";
import { webhookDeliveries, webhookEndpoints } from "../db/schema";
import { WriteBatch } from "../db/write-batch";
import { sendMessages } from "../jobs/producer";
import type { WebhookQueue } from "../jobs/queue";
import { clock } from "../lib/clock";
import { keyset, type PageQuery, toPage } from "../lib/pagination";
import { Problem } from "../lib/problem";
import { requireRow, tenantWrite, type WriteContext } from "../services/resources/tenant-resources";

/**
 * Seconds to wait after the n-th failed attempt (index n - 1) before the next one: about
 * 28 hours in all, no delay over the 12 h a queue message can be delayed. After the last
 * attempt fails the delivery is dead (and can still be replayed).
 */
export const RETRY_SCHEDULE_SECONDS = [5, 300, 1_800, 7_200, 18_000, 36_000, 36_000] as const;
export const MAX_DELIVERY_ATTEMPTS = RETRY_SCHEDULE_SECONDS.length + 1;

/** The delay before the attempt after failed attempt `attempt` (1-based): the schedule, less up to 10 % jitter. */
export function deliveryRetrySeconds(attempt: number, random: () => number = Math.random): number {
  const base = RETRY_SCHEDULE_SECONDS[Math.min(attempt, RETRY_SCHEDULE_SECONDS.length) - 1] ?? 5;
  return Math.max(1, Math.round(base * (1 - 0.1 * random())));
}

/** What a queue message names of a delivery: the row, and its tenant (whose database holds it). */
export const queuedDelivery = { id: webhookDeliveries.id, tenantId: webhookDeliveries.tenantId };
export type QueuedDelivery = { id: string; tenantId: string };

/** At most this many deliveries per sweep and per queue send (the queue's batch limit is 100). */
const DISPATCH_BATCH = 100;

/**
 * Marks up to DISPATCH_BATCH of the tenant's unqueued deliveries (of every tenant, for `null`:
 * work with no request, such as a provisioning job's outcome) as queued and sends them. Rows
 * another sweep holds are skipped (`skip locked`), so overlapping sweeps send each once.
 */
export async function dispatchPending(
  http: HttpDatabase,
  queue: WebhookQueue,
  tenantId: string | null,
  /** A statement that may write deliveries, run first in the same trip (a quota event). */
  first?: SQL,
): Promise<number> {
  const batch = new WriteBatch(http, tenantId === null ? { system: true } : { tenantId });
  if (first) batch.do(first);
  const where = tenantId === null ? sql`true` : sql`d.tenant_id = ${tenantId}`;
  const claimed = batch.add(claimUnqueued(batch.db, where, DISPATCH_BATCH));
  await batch.run();
  await sendDeliveries(queue, claimed.value);
  return claimed.value.length;
}

/**
 * The statement that marks at most `limit` unqueued deliveries (`d` matching `where`) queued,
 * oldest first, answering them as `sendDeliveries` takes them: the request's sweep, the job consumer's (all tenants,
 * `dispatchPending(…, null)`) and the reconcile cron's.
 */
export function claimUnqueued(db: Queryable, where: SQL, limit: number) {
  return db
    .update(webhookDeliveries)
    .set({ queuedAt: sql`now()` })
    .where(
      pickDeliveries(
        sql`${where} and d.queued_at is null and d.status = 'pending'`,
        sql`d.created_at`,
        limit,
      ),
    )
    .returning(queuedDelivery);
}

/**
 * The condition "one of at most `limit` deliveries `d` matching `where`, first in `order`,
 * locked (rows another transaction holds are skipped)", for a statement that updates or
 * deletes them. The ids are picked once, as an array, before the statement runs: a
 * `where id in (select … limit n)` may be rescanned and take more than n (as the usage purge
 * says too).
 */
export function pickDeliveries(where: SQL, order: SQL, limit: number): SQL {
  return sql`${webhookDeliveries.id} = any(array(
    select d.id from ${webhookDeliveries} d where ${where}
    order by ${order} limit ${limit} for update skip locked))`;
}

/**
 * Sends committed deliveries to the webhooks queue; a failed send is left to the reconciler.
 * Every message names the tenant, whichever database the delivery is in: the sender finds
 * the database from it, and a shared tenant's costs it no more than a cached lookup.
 */
export function sendDeliveries(queue: WebhookQueue, deliveries: readonly QueuedDelivery[]): Promise<void> {
  return sendMessages(
    queue,
    deliveries.map(({ id, tenantId }) => ({ deliveryId: id, tenantId })),
    { delivery_ids: deliveries.map(({ id }) => id) },
  );
}

type DeliveryRow = typeof webhookDeliveries.$inferSelect;

export function presentDelivery(row: DeliveryRow) {
  return {
    id: row.id,
    endpoint_id: row.endpointId,
    event_id: row.eventId,
    event_type: row.eventType,
    status: row.status,
    attempts: row.attempts,
    response_status: row.responseStatus,
    duration_ms: row.durationMs,
    last_error: row.lastError,
    next_attempt_at:
      row.status === "pending" || row.status === "failed" ? row.nextAttemptAt.toISOString() : null,
    created_at: row.createdAt.toISOString(),
    delivered_at: row.deliveredAt?.toISOString() ?? null,
  };
}

export type WebhookDelivery = ReturnType<typeof presentDelivery>;

const noEndpoint = () => new Problem("not_found", "No such webhook endpoint.");
const noDelivery = () => new Problem("not_found", "No such delivery of this webhook endpoint.");

/** The endpoint's deliveries, newest first, keyset-paged; 404 for an endpoint the tenant does not have. */
export async function listDeliveries(
  http: HttpDatabase,
  tenantId: string,
  endpointId: string,
  query: PageQuery,
) {
  const page = keyset(webhookDeliveries, query, { newestFirst: true });
  const [endpoint, rows] = await readAsTenant(http, tenantId, (db) => [
    db
      .select({ id: webhookEndpoints.id })
      .from(webhookEndpoints)
      .where(and(eq(webhookEndpoints.tenantId, tenantId), eq(webhookEndpoints.id, endpointId))),
    db
      .select()
      .from(webhookDeliveries)
      .where(
        and(
          eq(webhookDeliveries.tenantId, tenantId),
          eq(webhookDeliveries.endpointId, endpointId),
          page.after,
        ),
      )
      .orderBy(...page.orderBy)
      .limit(page.take),
  ]);
  if (endpoint.length === 0) throw noEndpoint();
  return toPage(rows, query.limit, presentDelivery);
}

/**
 * Sends a delivery again with the same `webhook-id` and body (receivers deduplicate on it), a
 * fresh attempt budget, now. A delivery that is still on its way (pending, never attempted)
 * is 409 `conflict`: it will be sent anyway; so is one of a disabled endpoint.
 */
export async function replayDelivery(
  write: WriteContext,
  queue: WebhookQueue,
  endpointId: string,
  deliveryId: string,
) {
  const tenantId = write.tenant.id;
  const where = and(
    eq(webhookDeliveries.tenantId, tenantId),
    eq(webhookDeliveries.endpointId, endpointId),
    eq(webhookDeliveries.id, deliveryId),
  );
  const batch = tenantWrite(write);
  requireRow(batch, webhookDeliveries, where, noDelivery());
  batch.failWhen(sql`exists (select 1 from ${webhookDeliveries} where ${where} and status = 'pending')`, {
    code: "conflict",
    detail: "This delivery has not been attempted yet; it is on its way.",
  });
  batch.failWhen(
    sql`exists (select 1 from ${webhookEndpoints} where ${webhookEndpoints.id} = ${endpointId} and not ${webhookEndpoints.enabled})`,
    { code: "conflict", detail: "This webhook endpoint is disabled; enable it to send it events." },
  );
  const now = new Date(clock.now());
  const replayed = batch.add(
    batch.db
      .update(webhookDeliveries)
      .set({
        status: "pending",
        attempts: 0,
        nextAttemptAt: now,
        queuedAt: now,
        lockedUntil: null,
        lastError: null,
      })
      .where(where)
      .returning(),
  );
  await batch.run();
  const [row] = replayed.value;
  if (!row) throw noDelivery();
  await sendDeliveries(queue, [row]);
  return presentDelivery(row);
}

/**
 * A `webhook.test` event to this endpoint only (whatever it subscribes to), sent at once.
 * A disabled endpoint is 409 `conflict`: nothing is sent to it.
 */
export async function sendTestEvent(write: WriteContext, queue: WebhookQueue, endpointId: string) {
  const tenantId = write.tenant.id;
  const endpoint = and(eq(webhookEndpoints.tenantId, tenantId), eq(webhookEndpoints.id, endpointId));
  const batch = tenantWrite(write);
  requireRow(batch, webhookEndpoints, endpoint, noEndpoint());
  batch.failWhen(sql`exists (select 1 from ${webhookEndpoints} where ${endpoint} and not enabled)`, {
    code: "conflict",
    detail: "This webhook endpoint is disabled; enable it to send it events.",
  });
  // The id is chosen here, so the batch can read the delivery back and the request can queue it.
  const deliveryId = crypto.randomUUID();
  const data = { message: "A test event from Tenantry.", endpoint_id: endpointId };
  batch.do(
    sql`select tenantry_emit_webhook_event(${tenantId}::uuid, 'webhook.test', ${JSON.stringify(data)}::jsonb, ${endpointId}::uuid, ${deliveryId}::uuid)`,
  );
  const written = batch.add(
    batch.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.id, deliveryId)),
  );
  await batch.run();
  const [delivery] = written.value;
  if (!delivery) throw new Error("the test event wrote no delivery");
  await sendDeliveries(queue, [delivery]);
  return presentDelivery(delivery);
}
