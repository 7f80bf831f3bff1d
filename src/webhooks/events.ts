/**
 * The events a webhook endpoint can subscribe to. Most are audit actions of the same name
 * (the audit trigger of migration 0012 emits them in the transaction of the change), and
 * `audit.event` carries every audit record, so a tenant can stream its audit log to its SIEM.
 * The others are emitted where they happen: provisioning outcomes by the job consumer,
 * `api_key.expiring` by the daily reminder, `quota.exceeded` after a refused create (at most
 * once per quota an hour), `webhook.test` by `POST /webhooks/{id}/test` (to that endpoint only).
 *
 * The list is also in the database (`tenantry_webhook_event_types()`, which decides which audit
 * actions are events); a test keeps the two equal.
 */
export const WEBHOOK_EVENT_TYPES = [
  "tenant.updated",
  "tenant.suspended",
  "tenant.reactivated",
  "tenant.deleted",
  "tenant.restored",
  "member.added",
  "member.removed",
  "member.role_changed",
  "invitation.created",
  "invitation.accepted",
  "invitation.revoked",
  "api_key.created",
  "api_key.revoked",
  "api_key.rotated",
  "api_key.expiring",
  "cluster.created",
  "cluster.updated",
  "cluster.deleted",
  "plugin.created",
  "plugin.updated",
  "plugin.deleted",
  "credential.created",
  "credential.deleted",
  "credential.revealed",
  "provisioning.succeeded",
  "provisioning.failed",
  "provisioning.dead",
  "quota.exceeded",
  "audit.event",
  "webhook.test",
] as const;

export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** `cluster.*` and the like: every prefix that names at least one event. */
const PREFIXES = new Set(WEBHOOK_EVENT_TYPES.map((type) => type.slice(0, type.indexOf("."))));
const TYPES = new Set<string>(WEBHOOK_EVENT_TYPES);

/** Whether an endpoint may subscribe to `pattern`: a known event name or a known `prefix.*`. */
export function isEventPattern(pattern: string): boolean {
  if (TYPES.has(pattern)) return true;
  return pattern.endsWith(".*") && PREFIXES.has(pattern.slice(0, -2));
}

/** Whether `patterns` subscribe to `type` (as `tenantry_webhook_matches` decides in SQL). */
export function subscribes(patterns: readonly string[], type: string): boolean {
  return patterns.some((p) => p === type || (p.endsWith(".*") && type.startsWith(p.slice(0, -1))));
}

/** The prefixes, for the API's description of `events`. */
export const EVENT_PREFIXES = [...PREFIXES];
