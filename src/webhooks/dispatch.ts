/**
 * The request's side of webhook delivery. A write may have written deliveries for its tenant
 * (the audit trigger does, whatever the write was), so after a successful write the request
 * sweeps that tenant's unqueued deliveries into the queue, once, after its response
 * (`tenantChanged`). A create refused for its quota emits `quota.exceeded` first (at most
 * once per quota an hour, decided by the database).
 */
import { sql } from "drizzle-orm";
import type { HttpDatabase } from "../db/client";
import type { Config } from "../env";
import type { WebhookQueue } from "../jobs/queue";
import type { Background } from "../lib/after-response";
import { dispatchPending } from "./deliveries";
import { relayAndDispatch, relayEvents } from "./relay";

export interface WebhookDispatch {
  /**
   * Sends the tenant's new deliveries to the queue after the response. `db` is the database
   * of the tenant's own rows (a dedicated tenant's), the control database when not given.
   */
  tenantChanged(tenantId: string, db?: HttpDatabase): void;
  /** Emits `quota.exceeded` (unless one went out within the hour), then sends it. */
  quotaExceeded(tenantId: string, facts: Record<string, unknown>, db?: HttpDatabase): void;
}

export function webhookDispatch(
  http: HttpDatabase,
  queue: WebhookQueue,
  background: Background,
  config: Config,
): WebhookDispatch {
  const swept = new Set<string>();
  return {
    tenantChanged(tenantId, db) {
      if (swept.has(tenantId)) return;
      swept.add(tenantId);
      background(async () => {
        // A dedicated tenant's events of the control database (relay.ts) go to its own first.
        if (db === undefined) await relayAndDispatch(config, http, queue, tenantId, { dedicatedOnly: true });
        else if (db !== http) await relayEvents(http, db, tenantId);
        await dispatchPending(db ?? http, queue, tenantId);
      });
    },
    quotaExceeded(tenantId, facts, db = http) {
      swept.add(tenantId);
      const quota = typeof facts.quota === "string" ? facts.quota : "unknown";
      const emit = sql`select tenantry_emit_quota_exceeded(${tenantId}::uuid, ${quota}, ${JSON.stringify(facts)}::jsonb)`;
      background(() => dispatchPending(db, queue, tenantId, emit));
    },
  };
}
