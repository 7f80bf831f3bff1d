import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import {
  generateWebhookSecret,
  isWebhookSecret,
  webhookHeaders,
  webhookSignature,
} from "../src/webhooks/signature";

/**
 * Signatures of `src/webhooks/signature.ts`, checked by the maintained `standardwebhooks`
 * library a tenant would verify them with, and by the spec's published vector.
 */

const BODY = JSON.stringify({ type: "tenant.updated", data: { id: "t_1", name: "Acme" } });
const MESSAGE_ID = "msg_2mK8q1yWbD3cN7pQ";

/** Now, as the library refuses timestamps more than five minutes off. */
const now = () => Math.floor(Date.now() / 1000);

/** Whether a receiver holding only `secret` accepts the delivery. */
function verifies(secret: string, body: string, headers: Record<string, string>): boolean {
  try {
    new Webhook(secret).verify(body, headers);
    return true;
  } catch {
    return false;
  }
}

describe("webhookHeaders", () => {
  it("is accepted by the standardwebhooks library under a fresh secret", async () => {
    const secret = generateWebhookSecret();
    const headers = await webhookHeaders([secret], MESSAGE_ID, now(), BODY);
    expect(new Webhook(secret).verify(BODY, headers)).toEqual(JSON.parse(BODY));
  });

  it("carries the id, the timestamp, the signature and the JSON content type", async () => {
    const secret = generateWebhookSecret();
    const timestamp = now();
    const headers = await webhookHeaders([secret], MESSAGE_ID, timestamp, BODY);
    expect(headers).toEqual({
      "webhook-id": MESSAGE_ID,
      "webhook-timestamp": String(timestamp),
      "webhook-signature": await webhookSignature([secret], MESSAGE_ID, timestamp, BODY),
      "content-type": "application/json",
    });
  });

  it("is refused for a tampered body", async () => {
    const secret = generateWebhookSecret();
    const headers = await webhookHeaders([secret], MESSAGE_ID, now(), BODY);
    expect(verifies(secret, BODY.replace("Acme", "Acmf"), headers)).toBe(false);
  });

  it("is refused under a different message id", async () => {
    const secret = generateWebhookSecret();
    const headers = await webhookHeaders([secret], MESSAGE_ID, now(), BODY);
    expect(verifies(secret, BODY, { ...headers, "webhook-id": "msg_other" })).toBe(false);
  });

  it("is refused under a different timestamp", async () => {
    const secret = generateWebhookSecret();
    const timestamp = now();
    const headers = await webhookHeaders([secret], MESSAGE_ID, timestamp, BODY);
    expect(verifies(secret, BODY, { ...headers, "webhook-timestamp": String(timestamp - 1) })).toBe(false);
  });

  it("is refused under a wrong secret", async () => {
    const headers = await webhookHeaders([generateWebhookSecret()], MESSAGE_ID, now(), BODY);
    expect(verifies(generateWebhookSecret(), BODY, headers)).toBe(false);
  });

  it("during a rotation is accepted under either secret alone", async () => {
    const next = generateWebhookSecret();
    const previous = generateWebhookSecret();
    const headers = await webhookHeaders([next, previous], MESSAGE_ID, now(), BODY);
    expect(verifies(next, BODY, headers)).toBe(true);
    expect(verifies(previous, BODY, headers)).toBe(true);
    expect(verifies(generateWebhookSecret(), BODY, headers)).toBe(false);
  });
});

describe("webhookSignature", () => {
  it("reproduces the Standard Webhooks published vector", async () => {
    const signature = await webhookSignature(
      ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
      "msg_p5jXN8AQM9LWM0D4loKWxJek",
      1614265330,
      '{"test": 2432232314}',
    );
    expect(signature).toBe("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
  });

  it("matches the library's own signer, one `v1,<base64>` per secret, separated by single spaces", async () => {
    const secrets = [generateWebhookSecret(), generateWebhookSecret(), generateWebhookSecret()];
    const timestamp = now();
    const signature = await webhookSignature(secrets, MESSAGE_ID, timestamp, BODY);
    expect(signature).toMatch(/^v1,[A-Za-z0-9+/]{43}=( v1,[A-Za-z0-9+/]{43}=){2}$/);
    expect(signature.split(" ")).toEqual(
      secrets.map((secret) => new Webhook(secret).sign(MESSAGE_ID, new Date(timestamp * 1000), BODY)),
    );
  });

  it("refuses to sign without a secret", async () => {
    await expect(webhookSignature([], MESSAGE_ID, now(), BODY)).rejects.toThrow("at least one secret");
  });

  it("refuses a malformed secret", async () => {
    await expect(webhookSignature(["not-a-secret"], MESSAGE_ID, now(), BODY)).rejects.toThrow(
      "Not a webhook secret",
    );
  });

  it.each([1.5, -1, Number.NaN])("refuses the timestamp %s", async (timestamp) => {
    await expect(webhookSignature([generateWebhookSecret()], MESSAGE_ID, timestamp, BODY)).rejects.toThrow(
      RangeError,
    );
  });
});

describe("generateWebhookSecret", () => {
  it("is whsec_ and the padded base64 of 32 bytes", () => {
    const secret = generateWebhookSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(isWebhookSecret(secret)).toBe(true);
  });

  it("differs every time", () => {
    expect(new Set(Array.from({ length: 20 }, generateWebhookSecret)).size).toBe(20);
  });
});

describe("isWebhookSecret", () => {
  const base64Of = (length: number) => btoa("k".repeat(length));

  it.each([
    ["the spec's 24-byte example", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
    ["24 bytes", `whsec_${base64Of(24)}`],
    ["32 bytes", `whsec_${base64Of(32)}`],
    ["64 bytes", `whsec_${base64Of(64)}`],
  ])("accepts %s", (_, text) => {
    expect(isWebhookSecret(text)).toBe(true);
  });

  it.each([
    ["no prefix", base64Of(32)],
    ["an upper-case prefix", `WHSEC_${base64Of(32)}`],
    ["the prefix alone", "whsec_"],
    ["23 bytes", `whsec_${base64Of(23)}`],
    ["65 bytes", `whsec_${base64Of(65)}`],
    ["base64url characters", `whsec_${base64Of(32).slice(0, 41)}-_=`],
    ["missing padding", `whsec_${base64Of(32).replace(/=+$/, "")}`],
    ["whitespace inside", `whsec_${base64Of(30).slice(0, 20)} ${base64Of(30).slice(20)}`],
    ["a trailing newline", `whsec_${base64Of(32)}\n`],
  ])("refuses %s", (_, text) => {
    expect(isWebhookSecret(text)).toBe(false);
  });
});
