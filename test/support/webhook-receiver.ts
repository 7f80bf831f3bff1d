/**
 * Reads and scripts the run's webhook receiver (dev/servers/webhook-receiver.ts, started by
 * test/global-setup.ts) from inside workerd. Each test takes a name of its own
 * (`uniqueHookName()`), registers `receiverUrl(name)` as a tenant's webhook, and reads back
 * what the Worker sent to it.
 */
import { env } from "cloudflare:workers";
import type { ReceivedWebhook, WebhookScript } from "../../dev/servers/webhook-receiver";

export type { ReceivedWebhook, WebhookScript };

const POLL_MS = 50;
const WAIT_MS = 10_000;

/** The URL the Worker should POST to for `name`. */
export function receiverUrl(name: string): string {
  return `${env.TEST_WEBHOOK_RECEIVER_URL}/hooks/${name}`;
}

/** A name no other test uses, so parallel tests never read each other's requests. */
export function uniqueHookName(): string {
  return `hook-${crypto.randomUUID()}`;
}

/** Replaces the name's script: the next answers (`statuses`), a delay, or a redirect. */
export async function scriptReceiver(name: string, script: WebhookScript): Promise<void> {
  const res = await fetch(`${env.TEST_WEBHOOK_RECEIVER_URL}/__script/${name}`, {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(script),
  });
  if (res.status !== 204) throw new Error(`the webhook receiver refused the script: ${await res.text()}`);
}

/** Every request `name` received, oldest first. */
export async function receivedBy(name: string): Promise<ReceivedWebhook[]> {
  const res = await fetch(`${env.TEST_WEBHOOK_RECEIVER_URL}/__received/${name}`);
  if (!res.ok) throw new Error(`the webhook receiver answered ${res.status}`);
  return ((await res.json()) as { requests: ReceivedWebhook[] }).requests;
}

/** The requests `name` received, once there are at least `count`. */
export async function waitForRequests(
  name: string,
  count: number,
  { timeoutMs = WAIT_MS }: { timeoutMs?: number } = {},
): Promise<ReceivedWebhook[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const requests = await receivedBy(name);
    if (requests.length >= count) return requests;
    if (Date.now() > deadline) {
      throw new Error(
        `webhook ${name} received ${requests.length} of ${count} requests within ${timeoutMs} ms`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}
