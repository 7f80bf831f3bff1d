import { env } from "cloudflare:workers";
import { Webhook } from "standardwebhooks";
import { afterAll, describe, expect, it } from "vitest";
import { openDatabase, openHttp, withSystem } from "../src/db/client";
import { type Bindings, loadConfig } from "../src/env";
import worker from "../src/index";
import { WEBHOOK_QUEUE_NAME } from "../src/jobs/queue";
import { EXPIRY_NOTICE_DAYS, emitExpiringKeyEvents } from "../src/notifications/expiring-keys";
import {
  deliveryRetrySeconds,
  MAX_DELIVERY_ATTEMPTS,
  RETRY_SCHEDULE_SECONDS,
} from "../src/webhooks/deliveries";
import { WEBHOOK_EVENT_TYPES } from "../src/webhooks/events";
import { purgeOldDeliveries, reconcileWebhooks, reconcileWebhooksTask } from "../src/webhooks/reconcile";
import { pools } from "./support/db";
import { api, bearer, jsonInit, tenantWithRoles } from "./support/fixtures";
import { call } from "./support/http";
import { emailOfNotification, emailsTo } from "./support/mail";
import { deliverMessage } from "./support/notifications";
import { systemAdminHeaders } from "./support/populated-tenant";
import { expectProblem } from "./support/problems";
import {
  type ReceivedWebhook,
  receivedBy,
  receiverUrl,
  scriptReceiver,
  uniqueHookName,
  waitForRequests,
} from "./support/webhook-receiver";

type Fixture = Awaited<ReturnType<typeof tenantWithRoles>>;

interface CreatedEndpoint {
  id: string;
  url: string;
  events: string[];
  enabled: boolean;
  secret: string;
}

interface DeliveryItem {
  id: string;
  event_id: string;
  event_type: string;
  status: string;
  attempts: number;
  response_status: number | null;
  duration_ms: number | null;
  last_error: string | null;
  next_attempt_at: string | null;
}

const db = pools();
afterAll(() => db.end());

const asAdmin = (f: Fixture) => bearer(f.users.admin.token);

async function createEndpoint(f: Fixture, events: string[], name = uniqueHookName()) {
  const res = await api(
    "/api/v1/webhooks",
    jsonInit("POST", { url: receiverUrl(name), events, description: "test receiver" }, asAdmin(f)),
  );
  expect(res.status).toBe(201);
  return { name, endpoint: (await res.json()) as CreatedEndpoint };
}

/** Verifies a received request with the maintained Standard Webhooks library; throws if it does not verify. */
function verify(secret: string, request: ReceivedWebhook): unknown {
  return new Webhook(secret).verify(request.body, {
    "webhook-id": request.headers["webhook-id"] ?? "",
    "webhook-timestamp": request.headers["webhook-timestamp"] ?? "",
    "webhook-signature": request.headers["webhook-signature"] ?? "",
  });
}

async function deliveriesOf(f: Fixture, endpointId: string): Promise<DeliveryItem[]> {
  const res = await api(`/api/v1/webhooks/${endpointId}/deliveries`, { headers: asAdmin(f) });
  expect(res.status).toBe(200);
  return ((await res.json()) as { data: DeliveryItem[] }).data;
}

/** Waits until the endpoint's log shows a delivery of `type` in `status`. */
async function deliveryIn(f: Fixture, endpointId: string, type: string, status: string) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const found = (await deliveriesOf(f, endpointId)).find(
      (d) => d.event_type === type && d.status === status,
    );
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`no ${status} ${type} delivery within 10 s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * A delivery to `endpointId` written by the SQL function every change uses, but queued as far
 * as the sweeps know (its id chosen here): the test delivers it to the consumer itself,
 * attempt by attempt, and no background sweep races it.
 */
async function unqueuedDelivery(
  tenantId: string,
  endpointId: string,
  type = "tenant.updated",
): Promise<string> {
  const id = crypto.randomUUID();
  await db.admin.query(`select tenantry_emit_webhook_event($1, $2, '{"by": "test"}'::jsonb, $3, $4)`, [
    tenantId,
    type,
    endpointId,
    id,
  ]);
  return id;
}

async function deliveryRow(id: string) {
  const { rows } = await db.admin.query<{
    status: string;
    attempts: number;
    response_status: number | null;
    last_error: string | null;
    next_attempt_at: string;
    locked_until: string | null;
  }>("select * from webhook_deliveries where id = $1", [id]);
  return rows[0];
}

const deliverWebhook = (
  deliveryId: string,
  opts: { attempts?: number; env?: Record<string, unknown> } = {},
) => deliverMessage(WEBHOOK_QUEUE_NAME, { deliveryId }, opts);

/** Makes a failed delivery due now, as the queue would when its delay has passed. */
const makeDue = (id: string) =>
  db.admin.query("update webhook_deliveries set next_attempt_at = now() where id = $1", [id]);

describe("webhook endpoints", () => {
  it("create answers the whsec_ secret once; list and get never carry it; every write is audited", async () => {
    const f = await tenantWithRoles(db.admin);
    const { endpoint } = await createEndpoint(f, ["cluster.*", "api_key.created"]);
    expect(endpoint.secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    expect(endpoint).toMatchObject({ enabled: true, events: ["cluster.*", "api_key.created"] });

    const listed = await api("/api/v1/webhooks", { headers: asAdmin(f) });
    const listText = await listed.text();
    expect(listText).toContain(endpoint.id);
    expect(listText).not.toContain(endpoint.secret);
    expect(listText).not.toContain("whsec_");
    const got = await api(`/api/v1/webhooks/${endpoint.id}`, { headers: asAdmin(f) });
    expect(await got.json()).not.toHaveProperty("secret");

    const patched = await api(
      `/api/v1/webhooks/${endpoint.id}`,
      jsonInit("PATCH", { events: ["tenant.*"], enabled: false }, asAdmin(f)),
    );
    expect(await patched.json()).toMatchObject({ events: ["tenant.*"], enabled: false });
    expect(
      (await api(`/api/v1/webhooks/${endpoint.id}`, { method: "DELETE", headers: asAdmin(f) })).status,
    ).toBe(204);
    await expectProblem(
      await api(`/api/v1/webhooks/${endpoint.id}`, { headers: asAdmin(f) }),
      404,
      "not_found",
    );

    const { rows } = await db.admin.query<{ action: string; meta: Record<string, unknown> }>(
      "select action, meta from audit_events where tenant_id = $1 and target_id = $2 order by created_at",
      [f.tenant.id, endpoint.id],
    );
    expect(rows.map((r) => r.action)).toEqual(["webhook.created", "webhook.updated", "webhook.deleted"]);
    expect(JSON.stringify(rows)).not.toContain("whsec_");
    // The stored secret is ciphertext, not the secret.
    const stored = await db.admin.query("select * from webhook_endpoints where tenant_id = $1", [
      f.tenant.id,
    ]);
    expect(JSON.stringify(stored.rows)).not.toContain(endpoint.secret.slice(6));
  });

  it("only tenant admins manage webhooks; a tenant without the feature gets 403 feature_disabled", async () => {
    const f = await tenantWithRoles(db.admin);
    for (const role of ["member", "viewer"] as const) {
      const res = await api("/api/v1/webhooks", { headers: bearer(f.users[role].token) });
      await expectProblem(res, 403, "forbidden");
    }
    await db.admin.query(`update tenants set features = '{"webhooks": false}' where id = $1`, [f.tenant.id]);
    const g = await tenantWithRoles(db.admin);
    await db.admin.query(`update tenants set features = '{"webhooks": false}' where id = $1`, [g.tenant.id]);
    await expectProblem(await api("/api/v1/webhooks", { headers: asAdmin(g) }), 403, "feature_disabled");
  });

  it("refuses unknown events, empty lists, unknown fields and an empty body with 400 validation_failed", async () => {
    const f = await tenantWithRoles(db.admin);
    const post = (body: unknown) => api("/api/v1/webhooks", jsonInit("POST", body, asAdmin(f)));
    const url = receiverUrl(uniqueHookName());
    await expectProblem(await post({ url, events: ["cluster.exploded"] }), 400, "validation_failed");
    await expectProblem(await post({ url, events: ["nothing.*"] }), 400, "validation_failed");
    await expectProblem(await post({ url, events: [] }), 400, "validation_failed");
    await expectProblem(
      await post({ url, events: ["cluster.*"], secret: "whsec_mine" }),
      400,
      "validation_failed",
    );
    await expectProblem(
      await api("/api/v1/webhooks", { method: "POST", headers: asAdmin(f) }),
      400,
      "validation_failed",
    );
  });

  it("outside development, only public https URLs: http, private, loopback, link-local and metadata hosts are refused", async () => {
    const f = await tenantWithRoles(db.admin);
    const strict = { WEBHOOK_ALLOW_PRIVATE: "false" };
    const post = (url: string) =>
      call(worker, "/api/v1/webhooks", jsonInit("POST", { url, events: ["cluster.*"] }, asAdmin(f)), strict);
    for (const url of [
      "http://hooks.example.com/x",
      "https://127.0.0.1/x",
      "https://10.1.2.3/x",
      "https://[::1]/x",
      "https://169.254.169.254/latest/meta-data",
      "https://metadata.google.internal/x",
      "https://user:pw@hooks.example.com/x",
    ]) {
      const body = await expectProblem(await post(url), 400, "validation_failed");
      expect(body.errors?.[0], url).toMatchObject({ path: "url", code: "url_not_allowed" });
    }
    expect((await post("https://hooks.example.com/tenantry")).status).toBe(201);
  });

  it("the free plan's webhook_endpoints quota is 2: the third is 429 quota_exceeded", async () => {
    const f = await tenantWithRoles(db.admin);
    await createEndpoint(f, ["cluster.*"]);
    await createEndpoint(f, ["cluster.*"]);
    const third = await api(
      "/api/v1/webhooks",
      jsonInit("POST", { url: receiverUrl(uniqueHookName()), events: ["cluster.*"] }, asAdmin(f)),
    );
    const body = await expectProblem(third, 429, "quota_exceeded");
    expect(body).toMatchObject({ quota: "webhook_endpoints", limit: 2, used: 2 });
  });
});

describe("webhook deliveries", () => {
  it("a change reaches the endpoint signed the Standard Webhooks way, and the log shows it delivered", async () => {
    const f = await tenantWithRoles(db.admin);
    const { name, endpoint } = await createEndpoint(f, ["cluster.*"]);
    const created = await api(
      "/api/v1/clusters",
      jsonInit(
        "POST",
        { name: "prod", api_server_url: "https://k8s.example.com", region: "eu-central" },
        asAdmin(f),
      ),
    );
    expect(created.status).toBe(201);
    const cluster = (await created.json()) as { id: string };
    const [request] = await waitForRequests(name, 1);
    if (!request) throw new Error("no request");
    const payload = verify(endpoint.secret, request) as Record<string, unknown>;
    expect(payload).toMatchObject({
      type: "cluster.created",
      tenant_id: f.tenant.id,
      data: { target: { type: "cluster", id: cluster.id }, meta: { name: "prod" } },
    });
    expect(payload.id).toEqual(expect.any(String));
    expect(Date.parse(payload.created_at as string)).not.toBeNaN();
    expect(request.headers["content-type"]).toBe("application/json");
    expect(request.headers["webhook-signature"]).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    // A wrong secret or a changed body does not verify.
    expect(() => verify(`whsec_${btoa("x".repeat(32))}`, request)).toThrow();
    expect(() =>
      verify(endpoint.secret, { ...request, body: request.body.replace("prod", "dev") }),
    ).toThrow();

    const logged = await deliveryIn(f, endpoint.id, "cluster.created", "delivered");
    expect(logged).toMatchObject({
      id: request.headers["webhook-id"],
      event_id: payload.id,
      attempts: 1,
      response_status: 204,
      next_attempt_at: null,
    });
    expect(logged.duration_ms).toBeGreaterThanOrEqual(0);
  });

  it("audit.event streams every audit record; another tenant's endpoint hears nothing of it", async () => {
    const a = await tenantWithRoles(db.admin);
    const b = await tenantWithRoles(db.admin);
    const mine = await createEndpoint(a, ["audit.event"]);
    const theirs = await createEndpoint(b, ["audit.event", "cluster.*", "api_key.*"]);
    // B's own creation is an audit record of B: wait for it, so that B's receiver is known to work.
    await waitForRequests(theirs.name, 1);
    const key = await api("/api/v1/api-keys", jsonInit("POST", { name: "ci", role: "member" }, asAdmin(a)));
    expect(key.status).toBe(201);
    const { id: keyId, key: secretKey } = (await key.json()) as { id: string; key: string };
    // The endpoint's own creation was audited too: wait for the key's record after it.
    const received = await waitForRequests(mine.name, 2);
    const events = received.map((r) => verify(mine.endpoint.secret, r) as { data: Record<string, unknown> });
    expect(events.map((e) => e.data.action)).toEqual(["webhook.created", "api_key.created"]);
    const record = events.find((e) => e.data.action === "api_key.created");
    expect(record?.data).toMatchObject({ tenant_id: a.tenant.id, target_id: keyId, actor_type: "user" });
    // The key's public prefix may travel in the event, its secret never.
    expect(JSON.stringify(received)).not.toContain(secretKey);
    expect(JSON.stringify(received)).not.toContain(secretKey.slice(-20));
    await new Promise((resolve) => setTimeout(resolve, 300));
    for (const r of await receivedBy(theirs.name)) expect(r.body).not.toContain(a.tenant.id);
  });

  it("POST /test sends webhook.test to that endpoint only, whatever it subscribes to; a disabled one is 409", async () => {
    const f = await tenantWithRoles(db.admin);
    const { name, endpoint } = await createEndpoint(f, ["plugin.deleted"]);
    const other = await createEndpoint(f, ["plugin.deleted"]);
    const res = await api(`/api/v1/webhooks/${endpoint.id}/test`, { method: "POST", headers: asAdmin(f) });
    expect(res.status).toBe(202);
    const delivery = (await res.json()) as DeliveryItem;
    expect(delivery).toMatchObject({ event_type: "webhook.test", attempts: 0 });
    const [request] = await waitForRequests(name, 1);
    if (!request) throw new Error("no request");
    expect(request.headers["webhook-id"]).toBe(delivery.id);
    expect(verify(endpoint.secret, request)).toMatchObject({ type: "webhook.test" });
    expect(await receivedBy(other.name)).toEqual([]);

    await api(`/api/v1/webhooks/${endpoint.id}`, jsonInit("PATCH", { enabled: false }, asAdmin(f)));
    await expectProblem(
      await api(`/api/v1/webhooks/${endpoint.id}/test`, { method: "POST", headers: asAdmin(f) }),
      409,
      "conflict",
    );
    await expectProblem(
      await api(`/api/v1/webhooks/${crypto.randomUUID()}/test`, { method: "POST", headers: asAdmin(f) }),
      404,
      "not_found",
    );
  });

  it("rotate-secret: for 24 hours both secrets sign, either verifies; after that only the new one", async () => {
    const f = await tenantWithRoles(db.admin);
    const { name, endpoint } = await createEndpoint(f, ["tenant.*"]);
    const res = await api(`/api/v1/webhooks/${endpoint.id}/rotate-secret`, {
      method: "POST",
      headers: asAdmin(f),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const rotated = (await res.json()) as CreatedEndpoint & { previous_secret_expires_at: string };
    expect(rotated.secret).not.toBe(endpoint.secret);
    const grace = Date.parse(rotated.previous_secret_expires_at) - Date.now();
    expect(grace).toBeGreaterThan(23.9 * 3600_000);
    expect(grace).toBeLessThanOrEqual(24 * 3600_000);

    await api(`/api/v1/webhooks/${endpoint.id}/test`, { method: "POST", headers: asAdmin(f) });
    const [first] = await waitForRequests(name, 1);
    if (!first) throw new Error("no request");
    expect(first.headers["webhook-signature"]?.split(" ")).toHaveLength(2);
    verify(rotated.secret, first);
    verify(endpoint.secret, first);

    await db.admin.query(
      "update webhook_endpoints set previous_secret_expires_at = now() - interval '1 second' where id = $1",
      [endpoint.id],
    );
    await api(`/api/v1/webhooks/${endpoint.id}/test`, { method: "POST", headers: asAdmin(f) });
    const [, second] = await waitForRequests(name, 2);
    if (!second) throw new Error("no request");
    verify(rotated.secret, second);
    expect(() => verify(endpoint.secret, second)).toThrow();
  });

  it("replay sends the same webhook-id and body again, with a fresh attempt budget", async () => {
    const f = await tenantWithRoles(db.admin);
    const { name, endpoint } = await createEndpoint(f, ["tenant.*"]);
    const sent = (await (
      await api(`/api/v1/webhooks/${endpoint.id}/test`, { method: "POST", headers: asAdmin(f) })
    ).json()) as DeliveryItem;
    await deliveryIn(f, endpoint.id, "webhook.test", "delivered");
    const replay = await api(`/api/v1/webhooks/${endpoint.id}/deliveries/${sent.id}/replay`, {
      method: "POST",
      headers: asAdmin(f),
    });
    expect(replay.status).toBe(202);
    const [first, again] = await waitForRequests(name, 2);
    expect(again?.headers["webhook-id"]).toBe(first?.headers["webhook-id"]);
    expect(again?.body).toBe(first?.body);
    // Not yet attempted: it is on its way, so a replay is a conflict; so is one to a disabled endpoint.
    const waiting = await unqueuedDelivery(f.tenant.id, endpoint.id);
    const replayOf = (id: string) =>
      api(`/api/v1/webhooks/${endpoint.id}/deliveries/${id}/replay`, { method: "POST", headers: asAdmin(f) });
    await expectProblem(await replayOf(waiting), 409, "conflict");
    await api(`/api/v1/webhooks/${endpoint.id}`, jsonInit("PATCH", { enabled: false }, asAdmin(f)));
    await expectProblem(await replayOf(sent.id), 409, "conflict");
    expect(await receivedBy(name)).toHaveLength(2);
    await expectProblem(
      await api(`/api/v1/webhooks/${endpoint.id}/deliveries/${crypto.randomUUID()}/replay`, {
        method: "POST",
        headers: asAdmin(f),
      }),
      404,
      "not_found",
    );
  });

  it("a failing endpoint is retried on the schedule, each attempt logged, and the last failure is dead", async () => {
    const f = await tenantWithRoles(db.admin);
    const { name, endpoint } = await createEndpoint(f, ["tenant.updated"]);
    await scriptReceiver(name, { statuses: Array(MAX_DELIVERY_ATTEMPTS).fill(503) });
    const id = await unqueuedDelivery(f.tenant.id, endpoint.id);
    for (let attempt = 1; attempt < MAX_DELIVERY_ATTEMPTS; attempt++) {
      const result = await deliverWebhook(id, { attempts: attempt });
      const scheduled = RETRY_SCHEDULE_SECONDS[attempt - 1] as number;
      expect(result, `attempt ${attempt}`).toMatchObject({ acked: false, retried: true });
      expect(result.delaySeconds).toBeGreaterThanOrEqual(Math.floor(scheduled * 0.9));
      expect(result.delaySeconds).toBeLessThanOrEqual(scheduled);
      const row = await deliveryRow(id);
      expect(row).toMatchObject({
        status: "failed",
        attempts: attempt,
        response_status: 503,
        locked_until: null,
      });
      expect(new Date(row?.next_attempt_at ?? 0).getTime()).toBeGreaterThan(Date.now());
      await makeDue(id);
    }
    const last = await deliverWebhook(id, { attempts: MAX_DELIVERY_ATTEMPTS });
    expect(last).toMatchObject({ acked: true, retried: false });
    expect(await deliveryRow(id)).toMatchObject({ status: "dead", attempts: MAX_DELIVERY_ATTEMPTS });
    expect(await receivedBy(name)).toHaveLength(MAX_DELIVERY_ATTEMPTS);
    const [logged] = await deliveriesOf(f, endpoint.id);
    expect(logged).toMatchObject({
      id,
      status: "dead",
      attempts: MAX_DELIVERY_ATTEMPTS,
      response_status: 503,
    });
    expect(logged?.last_error).toContain("503");
    // Each of the attempts carried the same webhook-id.
    expect(new Set((await receivedBy(name)).map((r) => r.headers["webhook-id"]))).toEqual(new Set([id]));
  });

  it("the schedule spans about a day, no delay over 12 hours (a queue message's limit)", () => {
    const total = RETRY_SCHEDULE_SECONDS.reduce((sum, s) => sum + s, 0);
    expect(total / 3600).toBeGreaterThan(24);
    expect(total / 3600).toBeLessThan(30);
    for (const delay of RETRY_SCHEDULE_SECONDS) expect(delay).toBeLessThanOrEqual(12 * 3600);
    expect(deliveryRetrySeconds(1, () => 0)).toBe(5);
    expect(deliveryRetrySeconds(99, () => 1)).toBe(Math.round(36_000 * 0.9));
  });

  it("a redirect is a failure and is not followed; a timeout after 10 s is a failure", async () => {
    const f = await tenantWithRoles(db.admin);
    const target = uniqueHookName();
    const { name, endpoint } = await createEndpoint(f, ["tenant.updated"]);
    await scriptReceiver(name, { redirect_to: receiverUrl(target) });
    const id = await unqueuedDelivery(f.tenant.id, endpoint.id);
    expect(await deliverWebhook(id)).toMatchObject({ retried: true });
    expect(await deliveryRow(id)).toMatchObject({ status: "failed", response_status: 307 });
    expect((await deliveryRow(id))?.last_error).toContain("redirect");
    expect(await receivedBy(target)).toEqual([]);

    await scriptReceiver(name, { delay_ms: 11_000 });
    await makeDue(id);
    const started = Date.now();
    expect(await deliverWebhook(id, { attempts: 2 })).toMatchObject({ retried: true });
    expect(Date.now() - started).toBeLessThan(11_000);
    expect(await deliveryRow(id)).toMatchObject({ status: "failed", attempts: 2, response_status: null });
    expect((await deliveryRow(id))?.last_error).toContain("10 s");
  }, 30_000);

  it("two deliveries of one message at once send it once (the lease); a settled delivery is not sent again", async () => {
    const f = await tenantWithRoles(db.admin);
    const { name, endpoint } = await createEndpoint(f, ["tenant.updated"]);
    await scriptReceiver(name, { delay_ms: 300 });
    const id = await unqueuedDelivery(f.tenant.id, endpoint.id);
    const results = await Promise.all([deliverWebhook(id), deliverWebhook(id)]);
    for (const result of results) expect(result).toMatchObject({ acked: true, retried: false });
    expect(await deliverWebhook(id, { attempts: 2 })).toMatchObject({ acked: true });
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(await receivedBy(name)).toHaveLength(1);
    expect(await deliveryRow(id)).toMatchObject({ status: "delivered", attempts: 1 });
  });

  it("an endpoint failing for 3 days is disabled and its admins are emailed; enabling it again clears the streak", async () => {
    const f = await tenantWithRoles(db.admin);
    const { name, endpoint } = await createEndpoint(f, ["tenant.updated", "tenant.suspended"]);
    await scriptReceiver(name, { statuses: [500] });
    await db.admin.query(
      "update webhook_endpoints set failing_since = now() - interval '3 days 1 minute' where id = $1",
      [endpoint.id],
    );
    const id = await unqueuedDelivery(f.tenant.id, endpoint.id);
    // Written while the endpoint was enabled, attempted after it was disabled.
    const next = await unqueuedDelivery(f.tenant.id, endpoint.id, "tenant.suspended");
    await deliverWebhook(id);
    const disabled = (await (
      await api(`/api/v1/webhooks/${endpoint.id}`, { headers: asAdmin(f) })
    ).json()) as {
      enabled: boolean;
      disabled_reason: string | null;
    };
    expect(disabled).toMatchObject({ enabled: false, disabled_reason: "failing" });
    const { rows: notices } = await db.admin.query<{ id: string; recipient: string }>(
      "select id, recipient from notifications where tenant_id = $1 and template = 'webhook_disabled'",
      [f.tenant.id],
    );
    expect(notices.map((n) => n.recipient)).toEqual([f.users.admin.email]);
    const email = await emailOfNotification((notices[0] as { id: string }).id);
    expect(email.subject).toContain("webhook endpoint");
    expect(email.text).toContain(endpoint.url);
    expect(await emailsTo(f.users.admin.email)).toHaveLength(1);
    expect(await emailsTo(f.users.member.email)).toEqual([]);
    // A delivery to a disabled endpoint is not sent, and a disabled endpoint gets no new ones.
    expect(await deliverWebhook(next)).toMatchObject({ acked: true });
    expect(await deliveryRow(next)).toMatchObject({ status: "dead" });
    expect(await receivedBy(name)).toHaveLength(1);
    await db.admin.query(`select tenantry_emit_webhook_event($1, 'tenant.updated', '{}'::jsonb)`, [
      f.tenant.id,
    ]);
    const { rows } = await db.admin.query("select 1 from webhook_deliveries where endpoint_id = $1", [
      endpoint.id,
    ]);
    expect(rows).toHaveLength(2);

    const enabled = await api(
      `/api/v1/webhooks/${endpoint.id}`,
      jsonInit("PATCH", { enabled: true }, asAdmin(f)),
    );
    expect(await enabled.json()).toMatchObject({ enabled: true, disabled_reason: null, failing_since: null });
  });

  it("a URL that is no longer allowed (WEBHOOK_ALLOW_PRIVATE turned off) is never requested", async () => {
    const f = await tenantWithRoles(db.admin);
    const { name, endpoint } = await createEndpoint(f, ["tenant.updated"]);
    const id = await unqueuedDelivery(f.tenant.id, endpoint.id);
    expect(await deliverWebhook(id, { env: { WEBHOOK_ALLOW_PRIVATE: "false" } })).toMatchObject({
      acked: true,
    });
    const row = await deliveryRow(id);
    expect(row).toMatchObject({ status: "dead" });
    expect(row?.last_error).toContain("no longer allowed");
    expect(await receivedBy(name)).toEqual([]);
  });

  it("a signing secret that does not decrypt is a failed attempt, retried, and nothing is sent unsigned", async () => {
    const f = await tenantWithRoles(db.admin);
    const { name, endpoint } = await createEndpoint(f, ["tenant.updated"]);
    await db.admin.query(
      "update webhook_endpoints set secret_ciphertext = translate(secret_ciphertext, 'ABCabc', 'BCAbca') where id = $1",
      [endpoint.id],
    );
    const id = await unqueuedDelivery(f.tenant.id, endpoint.id);
    expect(await deliverWebhook(id)).toMatchObject({ acked: false, retried: true });
    const row = await deliveryRow(id);
    expect(row).toMatchObject({ status: "failed", attempts: 1, response_status: null });
    expect(row?.last_error).toContain("could not be decrypted");
    expect(await receivedBy(name)).toEqual([]);
  });

  it("quota.exceeded goes out once per quota an hour, however many creates are refused", async () => {
    const f = await tenantWithRoles(db.admin);
    const { name, endpoint } = await createEndpoint(f, ["quota.exceeded"]);
    const cluster = (n: number) =>
      api(
        "/api/v1/clusters",
        jsonInit("POST", { name: `c${n}`, api_server_url: "https://k.example.com", region: "r" }, asAdmin(f)),
      );
    expect((await cluster(1)).status).toBe(201);
    for (let n = 2; n <= 4; n++) expect((await cluster(n)).status).toBe(429);
    const [request] = await waitForRequests(name, 1);
    if (!request) throw new Error("no request");
    expect(verify(endpoint.secret, request)).toMatchObject({
      type: "quota.exceeded",
      data: { quota: "clusters", limit: 1, used: 1 },
    });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await receivedBy(name)).toHaveLength(1);
  });

  it("api_key.expiring goes out once per key, from the daily reminder, and names the key but never its secret", async () => {
    const f = await tenantWithRoles(db.admin);
    const { name, endpoint } = await createEndpoint(f, ["api_key.expiring"]);
    const created = await api(
      "/api/v1/api-keys",
      jsonInit(
        "POST",
        { name: "deploy", role: "viewer", expires_at: new Date(Date.now() + 3 * 86_400_000).toISOString() },
        asAdmin(f),
      ),
    );
    const key = (await created.json()) as { id: string; prefix: string; key: string };
    const config = loadConfig(env);
    const handle = openDatabase(config);
    const horizon = new Date(Date.now() + EXPIRY_NOTICE_DAYS * 86_400_000).toISOString();
    try {
      // The daily task's webhook half (its email half is test/api-key-expiry-email.test.ts's),
      // twice at once, as overlapping daily runs would: one event. Then the cron queues it.
      await Promise.all([1, 2].map(() => withSystem(handle.db, (tx) => emitExpiringKeyEvents(tx, horizon))));
      await reconcileWebhooksTask.run(handle, env as unknown as Bindings, config);
    } finally {
      await handle.close();
    }
    const [request] = await waitForRequests(name, 1);
    if (!request) throw new Error("no request");
    expect(verify(endpoint.secret, request)).toMatchObject({
      type: "api_key.expiring",
      data: { api_key_id: key.id, name: "deploy", prefix: key.prefix },
    });
    expect(request.body).not.toContain(key.key);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await receivedBy(name)).toHaveLength(1);
  });

  it("a tenant's suspension reaches its endpoint as tenant.suspended, and its job's outcome as provisioning.succeeded", async () => {
    const f = await tenantWithRoles(db.admin);
    const { name, endpoint } = await createEndpoint(f, ["tenant.suspended", "provisioning.*"]);
    const suspended = await api(
      `/api/v1/tenants/${f.tenant.id}/suspend`,
      jsonInit("POST", { reason: "unpaid invoice" }, await systemAdminHeaders(db.admin)),
    );
    expect(suspended.status).toBe(200);
    const received = await waitForRequests(name, 2);
    const events = received.map(
      (r) => verify(endpoint.secret, r) as { type: string; data: Record<string, unknown> },
    );
    expect(events.find((e) => e.type === "tenant.suspended")).toMatchObject({
      data: { meta: { reason: "unpaid invoice" } },
    });
    // The suspend job went queue → consumer → the test's provisioner, and its outcome is an event.
    expect(events.find((e) => e.type.startsWith("provisioning."))).toMatchObject({
      type: "provisioning.succeeded",
      data: { kind: "suspend", status: "succeeded", attempts: 1 },
    });
  });
});

describe("the webhook crons", () => {
  const http = () => openHttp(loadConfig(env));
  const insertDelivery = async (
    tenantId: string,
    endpointId: string,
    fields: { status: string; createdAgo: string; nextAttemptAgo?: string; lockedAhead?: string },
  ) => {
    const { rows } = await db.admin.query<{ id: string }>(
      `insert into webhook_deliveries (id, tenant_id, endpoint_id, event_id, event_type, payload, status, queued_at,
         created_at, next_attempt_at, locked_until)
       values (gen_random_uuid(), $1, $2, gen_random_uuid(), 'tenant.updated', '{}', $3, now(),
         now() - $4::interval, now() - coalesce($5, '0 s')::interval, now() + $6::interval)
       returning id`,
      [
        tenantId,
        endpointId,
        fields.status,
        fields.createdAgo,
        fields.nextAttemptAgo ?? null,
        fields.lockedAhead ?? null,
      ],
    );
    return (rows[0] as { id: string }).id;
  };

  it("retention deletes delivered and dead deliveries older than 30 days, at most a batch a run, and nothing else", async () => {
    const f = await tenantWithRoles(db.admin);
    const { endpoint } = await createEndpoint(f, ["tenant.updated"]);
    const old = [
      await insertDelivery(f.tenant.id, endpoint.id, { status: "delivered", createdAgo: "31 days" }),
      await insertDelivery(f.tenant.id, endpoint.id, { status: "dead", createdAgo: "32 days" }),
    ];
    const kept = [
      await insertDelivery(f.tenant.id, endpoint.id, { status: "delivered", createdAgo: "29 days" }),
      await insertDelivery(f.tenant.id, endpoint.id, { status: "failed", createdAgo: "40 days" }),
    ];
    // The relay's records of what it emitted go after 30 days as well; a fresh one stays.
    const relayedOld = crypto.randomUUID();
    const relayedNew = crypto.randomUUID();
    await db.admin.query(
      "insert into webhook_relayed (id, tenant_id, created_at) values ($1, $3, now() - interval '31 days'), ($2, $3, now())",
      [relayedOld, relayedNew, f.tenant.id],
    );
    // Other files' old deliveries may be purged too; a batch of one takes exactly one row.
    expect(await purgeOldDeliveries(http(), { now: Date.now(), batchSize: 1 })).toMatchObject({
      deleted: 1,
      batchFull: true,
    });
    await purgeOldDeliveries(http(), { now: Date.now(), batchSize: 1000 });
    const { rows } = await db.admin.query<{ id: string }>(
      "select id from webhook_deliveries where id = any($1)",
      [[...old, ...kept]],
    );
    expect(rows.map((r) => r.id).sort()).toEqual([...kept].sort());
    const relayed = await db.admin.query<{ id: string }>(
      "select id from webhook_relayed where id = any($1)",
      [[relayedOld, relayedNew]],
    );
    expect(relayed.rows.map((r) => r.id)).toEqual([relayedNew]);
  });

  it("reconcile resends a delivery overdue by 2 minutes whose lease ran out, never a leased or a fresh one", async () => {
    const f = await tenantWithRoles(db.admin);
    const { endpoint } = await createEndpoint(f, ["tenant.updated"]);
    const lost = await insertDelivery(f.tenant.id, endpoint.id, {
      status: "failed",
      createdAgo: "1 hour",
      nextAttemptAgo: "3 minutes",
    });
    const leased = await insertDelivery(f.tenant.id, endpoint.id, {
      status: "failed",
      createdAgo: "1 hour",
      nextAttemptAgo: "3 minutes",
      lockedAhead: "20 seconds",
    });
    const fresh = await insertDelivery(f.tenant.id, endpoint.id, {
      status: "failed",
      createdAgo: "1 hour",
      nextAttemptAgo: "1 minute",
    });
    const resent = (await reconcileWebhooks(http(), { now: Date.now(), batchSize: 1000 })).resent.map(
      (delivery) => delivery.id,
    );
    expect(resent).toContain(lost);
    expect(resent).not.toContain(leased);
    expect(resent).not.toContain(fresh);
    const row = await deliveryRow(lost);
    expect(Math.abs(new Date(row?.next_attempt_at ?? 0).getTime() - Date.now())).toBeLessThan(10_000);
  });
});

describe("the event catalogue", () => {
  it("is the same list in the code and in the database (which decides which audit actions are events)", async () => {
    const { rows } = await db.admin.query<{ types: string[] }>(
      "select tenantry_webhook_event_types() as types",
    );
    expect([...(rows[0]?.types ?? [])].sort()).toEqual([...WEBHOOK_EVENT_TYPES].sort());
  });

  it("matches exact names and prefix patterns in SQL as in the code", async () => {
    const cases: Array<[string[], string, boolean]> = [
      [["cluster.*"], "cluster.created", true],
      [["cluster.*"], "clusters.created", false],
      [["api_key.created"], "api_key.created", true],
      [["api_key.created"], "api_key.revoked", false],
      [["api_key.*"], "api_keyxcreated", false],
      [["tenant.*", "quota.exceeded"], "quota.exceeded", true],
    ];
    for (const [patterns, type, expected] of cases) {
      const { rows } = await db.admin.query<{ m: boolean }>("select tenantry_webhook_matches($1, $2) as m", [
        patterns,
        type,
      ]);
      expect(rows[0]?.m, `${patterns} ${type}`).toBe(expected);
    }
  });
});
