/**
 * Signatures of webhook deliveries as Standard Webhooks has them
 * (https://www.standardwebhooks.com), so a tenant can verify ours with any of its libraries:
 * HMAC-SHA256 of `{id}.{timestamp}.{body}`, keyed by the bytes of a `whsec_<base64>` secret.
 *
 * The signed timestamp lets a receiver refuse replays; the id lets it drop a retried delivery
 * it already handled.
 */

import { fromBase64, toBase64, utf8 } from "../lib/encoding";

const SECRET_PREFIX = "whsec_";
const SECRET_BYTES = 32;
/** The spec's range; Svix issues 24 bytes, so a secret brought from it still fits. */
const MIN_SECRET_BYTES = 24;
const MAX_SECRET_BYTES = 64;
/** Standard base64 with its padding, as the secrets are written. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** A new signing secret: `whsec_` and the base64 of 32 random bytes. */
export function generateWebhookSecret(): string {
  return SECRET_PREFIX + toBase64(crypto.getRandomValues(new Uint8Array(SECRET_BYTES)));
}

/** Whether `text` is a `whsec_` secret whose base64 holds 24 to 64 bytes. */
export function isWebhookSecret(text: string): boolean {
  return secretBytes(text) !== undefined;
}

/**
 * The `webhook-signature` header: one `v1,<base64>` per secret, separated by spaces. While a
 * secret is rotated both the new and the old one sign, and a receiver holding either accepts.
 */
export async function webhookSignature(
  secrets: readonly string[],
  messageId: string,
  timestampSeconds: number,
  body: string,
): Promise<string> {
  if (secrets.length === 0) throw new Error("A webhook is signed with at least one secret");
  if (!Number.isSafeInteger(timestampSeconds) || timestampSeconds < 0)
    throw new RangeError("A webhook timestamp is a whole number of seconds since the epoch");
  const signed = utf8(`${messageId}.${timestampSeconds}.${body}`);
  const signatures = await Promise.all(secrets.map((secret) => sign(secret, signed)));
  return signatures.join(" ");
}

/** Every header a delivery carries: the three Standard Webhooks headers and its content type. */
export async function webhookHeaders(
  secrets: readonly string[],
  messageId: string,
  timestampSeconds: number,
  body: string,
): Promise<Record<string, string>> {
  return {
    "webhook-id": messageId,
    "webhook-timestamp": String(timestampSeconds),
    "webhook-signature": await webhookSignature(secrets, messageId, timestampSeconds, body),
    "content-type": "application/json",
  };
}

async function sign(secret: string, signed: Uint8Array<ArrayBuffer>): Promise<string> {
  const bytes = secretBytes(secret);
  if (!bytes) throw new Error("Not a webhook secret (whsec_ and the base64 of 24 to 64 bytes)");
  const key = await crypto.subtle.importKey("raw", bytes, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return `v1,${toBase64(new Uint8Array(await crypto.subtle.sign("HMAC", key, signed)))}`;
}

/** The key bytes of a well-formed secret; undefined for anything else. */
function secretBytes(text: string): Uint8Array<ArrayBuffer> | undefined {
  if (!text.startsWith(SECRET_PREFIX)) return undefined;
  const encoded = text.slice(SECRET_PREFIX.length);
  // Checked before decoding, since atob also takes whitespace and missing padding.
  if (encoded.length > Math.ceil(MAX_SECRET_BYTES / 3) * 4 || !BASE64.test(encoded)) return undefined;
  const bytes = fromBase64(encoded);
  return bytes.length >= MIN_SECRET_BYTES && bytes.length <= MAX_SECRET_BYTES ? bytes : undefined;
}
