import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../free-port";
import {
  type ReceivedWebhook,
  startWebhookReceiver,
  type WebhookReceiver,
} from "../servers/webhook-receiver";
import { canListen } from "./helpers";

describe("the webhook receiver", () => {
  let receiver: WebhookReceiver;
  let nameCount = 0;
  const uniqueName = () => `hook-${++nameCount}`;

  beforeAll(async () => {
    receiver = await startWebhookReceiver();
  });

  afterAll(async () => {
    await receiver?.stop();
  });

  const deliver = (name: string, init: RequestInit = {}) =>
    fetch(`${receiver.url}/hooks/${name}`, { method: "POST", body: "{}", redirect: "manual", ...init });
  const script = (name: string, body: unknown) =>
    fetch(`${receiver.url}/__script/${name}`, { method: "PUT", body: JSON.stringify(body) });
  const received = async (name: string) => {
    const res = await fetch(`${receiver.url}/__received/${name}`);
    expect(res.status).toBe(200);
    return ((await res.json()) as { requests: ReceivedWebhook[] }).requests;
  };

  it("listens on 127.0.0.1 on a port of its own", () => {
    expect(receiver.url).toBe(`http://127.0.0.1:${receiver.port}`);
  });

  it("records each request with its headers, lower-cased, and its raw body, in arrival order", async () => {
    const name = uniqueName();
    const raw = '{ "type": "tenant.updated",  "data": {"name": "Acmé"} }';
    const headers = new Headers({ "Webhook-Id": "msg_1", "Content-Type": "application/json" });
    headers.append("X-Repeated", "a");
    headers.append("X-Repeated", "b");
    const before = Date.now();
    expect((await deliver(name, { headers, body: raw })).status).toBe(204);
    expect((await deliver(name, { body: "second" })).status).toBe(204);

    const [first, second, ...rest] = await received(name);
    expect(rest).toEqual([]);
    expect(first?.body).toBe(raw);
    expect(first?.headers).toMatchObject({
      "webhook-id": "msg_1",
      "content-type": "application/json",
      "x-repeated": "a, b",
      host: `127.0.0.1:${receiver.port}`,
      "content-length": String(Buffer.byteLength(raw)),
    });
    expect(Date.parse(first?.received_at ?? "")).toBeGreaterThanOrEqual(before - 1000);
    expect(first?.received_at).toBe(new Date(first?.received_at ?? "").toISOString());
    expect(second?.body).toBe("second");
  });

  it("keeps each name's requests apart, and an unknown name has none", async () => {
    const a = uniqueName();
    const b = uniqueName();
    await deliver(a, { body: "for a" });
    expect((await received(a)).map((r) => r.body)).toEqual(["for a"]);
    expect(await received(b)).toEqual([]);
  });

  it("keeps the last 1000 requests of a name", async () => {
    const name = uniqueName();
    for (let i = 0; i < 1001; i++) await deliver(name, { body: String(i) });
    const requests = await received(name);
    expect(requests).toHaveLength(1000);
    expect(requests[0]?.body).toBe("1");
    expect(requests.at(-1)?.body).toBe("1000");
  });

  it("answers the scripted statuses in order, then 204 again", async () => {
    const name = uniqueName();
    expect((await script(name, { statuses: [500, 503, 200] })).status).toBe(204);
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push((await deliver(name)).status);
    expect(statuses).toEqual([500, 503, 200, 204, 204]);
    expect(await received(name)).toHaveLength(5);
  });

  it("holds every answer of a name for delay_ms, after recording the request", async () => {
    const name = uniqueName();
    await script(name, { delay_ms: 300 });
    const started = Date.now();
    expect((await deliver(name)).status).toBe(204);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);

    await expect(deliver(name, { signal: AbortSignal.timeout(50) })).rejects.toThrow();
    expect(await received(name)).toHaveLength(2);
  });

  it("redirects with 307 and the scripted Location, after any scripted statuses", async () => {
    const name = uniqueName();
    const target = `${receiver.url}/hooks/${uniqueName()}`;
    await script(name, { statuses: [500], redirect_to: target });
    expect((await deliver(name)).status).toBe(500);
    for (let i = 0; i < 2; i++) {
      const res = await deliver(name);
      expect(res.status).toBe(307);
      expect(res.headers.get("location")).toBe(target);
    }
  });

  it("replaces a name's script with each PUT", async () => {
    const name = uniqueName();
    await script(name, { statuses: [500, 500], redirect_to: "https://example.com/" });
    await script(name, { statuses: [410] });
    expect((await deliver(name)).status).toBe(410);
    expect((await deliver(name)).status).toBe(204);
  });

  it("forgets a name's requests and script on DELETE", async () => {
    const name = uniqueName();
    await script(name, { statuses: [500, 500] });
    await deliver(name);
    const res = await fetch(`${receiver.url}/__received/${name}`, { method: "DELETE" });
    expect(res.status).toBe(204);
    expect(await received(name)).toEqual([]);
    expect((await deliver(name)).status).toBe(204);
  });

  it.each([
    { statuses: [99] },
    { statuses: "500" },
    { delay_ms: -1 },
    { delay_ms: 1.5 },
    { delay_ms: 10 * 60_000 },
    { redirect_to: "/relative" },
    [],
  ])("refuses the script %j with 400", async (body) => {
    const res = await script(uniqueName(), body);
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: expect.any(String) });
  });

  it("refuses a script that is not JSON with 400", async () => {
    const res = await fetch(`${receiver.url}/__script/${uniqueName()}`, { method: "PUT", body: "{" });
    expect(res.status).toBe(400);
  });

  it.each([
    ["GET", "/hooks/a"],
    ["POST", "/hooks/"],
    ["POST", "/hooks/a.b"],
    ["POST", `/hooks/${"a".repeat(65)}`],
    ["POST", "/hooks/a/b"],
    ["POST", "/__received/a"],
    ["GET", "/__script/a"],
    ["GET", "/"],
  ])("answers %s %s with a JSON 404", async (method, path) => {
    const res = await fetch(`${receiver.url}${path}`, { method, body: method === "GET" ? undefined : "{}" });
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(await res.json()).toEqual({ error: expect.stringContaining(path) });
  });

  it("accepts a name of 64 characters", async () => {
    expect((await deliver("a".repeat(64))).status).toBe(204);
  });

  it("refuses a body over 1 MiB with 413 and does not record it", async () => {
    const name = uniqueName();
    const res = await deliver(name, { body: "x".repeat(1024 * 1024 + 1) });
    expect(res.status).toBe(413);
    expect(await received(name)).toEqual([]);
    expect((await deliver(name, { body: "x".repeat(1024 * 1024) })).status).toBe(204);
  });
});

describe("stopping the webhook receiver", () => {
  it("listens on the port it is given and frees it on stop(), even with an answer still delayed", async () => {
    const port = await freePort();
    const receiver = await startWebhookReceiver({ port });
    expect(receiver.port).toBe(port);
    await fetch(`${receiver.url}/__script/slow`, {
      method: "PUT",
      body: JSON.stringify({ delay_ms: 60_000 }),
    });
    const pending = fetch(`${receiver.url}/hooks/slow`, { method: "POST", body: "{}" }).catch((err) => err);
    await new Promise((resolve) => setTimeout(resolve, 100));

    const started = Date.now();
    await receiver.stop();
    expect(Date.now() - started).toBeLessThan(1000);
    expect(await pending).toBeInstanceOf(Error);
    expect(await canListen(port)).toBe(true);
  });
});
