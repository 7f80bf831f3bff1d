/**
 * The relay of a dedicated tenant's control-database events (migration 0013): an identity
 * change, a lifecycle change or a provisioning outcome happens in the control database, whose
 * `tenantry_emit_webhook_event` keeps it in `webhook_relay` because the tenant's endpoints live
 * in its own database. `relayEvents` emits them there (`tenantry_relay_webhook_event`, once per
 * relay id however often it runs), then deletes them from the control database, and the
 * caller sends the deliveries they made. At least once: a relay that dies between the two
 * steps is repeated and emits nothing twice.
 */
import { asc, eq, inArray, sql } from "drizzle-orm";
import { homeOf } from "../databases/routing";
import { batchAsTenant, type HttpDatabase, readAsSystem } from "../db/client";
import { webhookRelay } from "../db/schema";
import { WriteBatch } from "../db/write-batch";
import type { Config } from "../env";
import type { WebhookQueue } from "../jobs/queue";
import { log } from "../lib/log";
import { dispatchPending } from "./deliveries";

const errorMessage = (err: unknown) =>
  (err instanceof Error ? err.message : String(err)).replace(/postgres(ql)?:\/\/\S+/gi, "postgres://…");

/** Events per relay trip. */
const RELAY_BATCH = 100;

/** Moves the tenant's waiting events into `data` (its own database); how many it moved. */
export async function relayEvents(
  control: HttpDatabase,
  data: HttpDatabase,
  tenantId: string,
): Promise<number> {
  let moved = 0;
  for (;;) {
    const events = await batchAsTenant(control, tenantId, (db) =>
      db
        .select()
        .from(webhookRelay)
        .where(eq(webhookRelay.tenantId, tenantId))
        .orderBy(asc(webhookRelay.createdAt), asc(webhookRelay.id))
        .limit(RELAY_BATCH),
    );
    if (events.length === 0) return moved;
    const emit = new WriteBatch(data, { tenantId });
    for (const event of events) {
      emit.do(
        sql`select tenantry_relay_webhook_event(${event.id}::uuid, ${tenantId}::uuid, ${event.eventType}, ${JSON.stringify(event.data)}::jsonb)`,
      );
    }
    await emit.run();
    const done = new WriteBatch(control, { tenantId });
    done.do(
      done.db.delete(webhookRelay).where(
        inArray(
          webhookRelay.id,
          events.map((event) => event.id),
        ),
      ),
    );
    await done.run();
    moved += events.length;
    if (events.length < RELAY_BATCH) return moved;
  }
}

/**
 * After a change of the tenant in the control database: its events reach its own database
 * (a dedicated tenant's), and the deliveries they made go to the queue. The tenant record is
 * this isolate's cached one; a tenant gone or moving is left to the reconcile cron.
 */
export async function relayAndDispatch(
  config: Config,
  control: HttpDatabase,
  queue: WebhookQueue,
  tenantId: string,
  opts: { dedicatedOnly?: boolean } = {},
): Promise<void> {
  const home = await homeOf(config, control, tenantId);
  // Gone: its events went with it. Moving: the next run relays into wherever it lands.
  if (home.state !== "home") return;
  if (opts.dedicatedOnly && !home.dedicated) return;
  // A shared tenant has events waiting only if it was dedicated when they happened: they are
  // emitted in the control database, its home now.
  if ((await relayEvents(control, home.data, tenantId)) > 0)
    await dispatchPending(home.data, queue, tenantId);
}

/** The reconcile cron's part: every tenant with events waiting (at most `limit` tenants a run). */
export async function relayAll(
  config: Config,
  control: HttpDatabase,
  queue: WebhookQueue,
  limit = 50,
): Promise<{ tenants: number; failed: number }> {
  const [waiting] = await readAsSystem(control, (db) => [
    db.selectDistinct({ tenantId: webhookRelay.tenantId }).from(webhookRelay).limit(limit),
  ]);
  let failed = 0;
  for (const { tenantId } of waiting) {
    try {
      await relayAndDispatch(config, control, queue, tenantId);
    } catch (err) {
      failed += 1;
      log("warn", "webhook relay failed; the next run tries again", {
        tenant_id: tenantId,
        error: errorMessage(err),
      });
    }
  }
  return { tenants: waiting.length, failed };
}
