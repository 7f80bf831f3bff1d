/**
 * The Hono environment of every request: the Worker's bindings and what the cross-cutting
 * middleware sets. What only some routes establish (the caller, the tenant) is declared by
 * the pipeline stage that sets it (`middleware/pipeline/env.ts`).
 */
import type { HttpDatabase } from "./db/client";
import type { Bindings, Config } from "./env";
import type { JobOutbox } from "./jobs/producer";
import type { Background } from "./lib/after-response";
import type { NotificationOutbox } from "./notifications/outbox";
import type { PendingClaim } from "./services/platform/idempotency";
import type { LimitDecision } from "./services/platform/rate-limit";
import type { WebhookDispatch } from "./webhooks/dispatch";

export interface Variables {
  requestId: string;
  config: Config;
  http: HttpDatabase;
  /** Work that runs after the response is ready (`waitUntil`). */
  background: Background;
  /** Where the request's committed provisioning jobs go. */
  jobs: JobOutbox;
  /** Where the request's committed notifications (invitation emails) go. */
  notifications: NotificationOutbox;
  /** Where the webhook deliveries a write wrote for a tenant are sent from, after the response. */
  webhooks: WebhookDispatch;
  /** The request's Idempotency-Key on a create, for the write batch to claim. */
  idempotency: PendingClaim | undefined;
  /** What the access log and the metrics record, filled in by the pipeline as it learns it. */
  record: RequestRecord;
}

export interface RequestRecord {
  tenantId: string | null;
  /** Whether the resolved tenant has an enabled webhook endpoint (its writes may have events to send). */
  tenantHasWebhooks: boolean;
  /** The database of the resolved tenant's own rows, where its webhook deliveries are. */
  tenantData?: HttpDatabase;
  /** `user:<id>` or `api_key:<id>`: ids only. */
  actor: string | null;
  /** The rate-limit decisions of this request, for headers, logs and metrics. */
  rateLimits: LimitDecision[];
}

export interface AppBindings {
  Bindings: Bindings;
  Variables: Variables;
}
