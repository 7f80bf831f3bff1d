import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashPassword } from "../src/lib/passwords";
import { ConsoleBrowser } from "./support/console-browser";
import { pools } from "./support/db";
import { addMember, createTenant, createUser, type TestTenant, type TestUser } from "./support/fixtures";
import { receiverUrl, uniqueHookName, waitForRequests } from "./support/webhook-receiver";

/**
 * The console's webhook pages through the Worker's real fetch entry: a tenant admin adds an
 * endpoint (its secret shown once), sends it a test event and replays it, rotates the
 * secret, disables, enables and deletes it; every refusal is the API's, worded by the console.
 * The deliveries go through the real queue consumer to the run's webhook receiver.
 */
const PASSWORD = "console password 123";
const SECRET = /data-testid="webhook-secret">(whsec_[A-Za-z0-9+/=]+)</;
const POLL_MS = 100;
const WAIT_MS = 10_000;

describe("console webhooks", () => {
  const db = pools();
  let passwordHash: string;

  beforeAll(async () => {
    passwordHash = await hashPassword(PASSWORD);
  });
  afterAll(() => db.end());

  /** A fresh free-plan tenant (2 webhook endpoints) and its admin, signed in. */
  async function signedInAdmin(features?: Record<string, boolean>) {
    const tenant = await createTenant(db.admin);
    if (features)
      await db.admin.query("update tenants set features = $2 where id = $1", [tenant.id, features]);
    const browser = await signedIn(tenant, "admin");
    return { tenant, browser, page: `/console/tenants/${tenant.slug}/webhooks` };
  }

  async function signedIn(tenant: TestTenant, role: "admin" | "member") {
    const user: TestUser = await createUser(db.admin, { passwordHash });
    await addMember(db.admin, tenant, user, role);
    const browser = new ConsoleBrowser();
    await browser.signIn(user.email, PASSWORD);
    return browser;
  }

  /** Fills in the create form as a browser would: the list page first, then its form. */
  async function addEndpoint(browser: ConsoleBrowser, page: string, fields: Record<string, string>) {
    await browser.get(page);
    return browser.post(page, fields);
  }

  /** Adds an endpoint that receives test events, answering its id, secret and receiver name. */
  async function added(browser: ConsoleBrowser, page: string) {
    const name = uniqueHookName();
    const url = receiverUrl(name);
    const res = await addEndpoint(browser, page, { url, events: "webhook.test" });
    expect(res.status).toBe(201);
    const secret = SECRET.exec(await res.text())?.[1] ?? "";
    const list = await (await browser.get(page)).text();
    const id = new RegExp(`<tr data-webhook="([0-9a-f-]{36})"><td><a href="[^"]+">${url}</a>`).exec(
      list,
    )?.[1];
    if (!id) throw new Error(`${url} is not listed`);
    return { name, url, secret, id, path: `${page}/${id}` };
  }

  it("adds an endpoint through the form, shows its signing secret once, and lists it", async () => {
    const { browser, page } = await signedInAdmin();
    expect(await (await browser.get(page)).text()).toContain("No webhook endpoints.");
    const url = receiverUrl(uniqueHookName());

    const res = await addEndpoint(browser, page, {
      url,
      events: "webhook.test,\ncluster.*",
      description: "<b>CI</b> hook",
    });
    expect(res.status).toBe(201);
    expect(res.headers.get("location")).toBeNull();
    expect(res.headers.get("cache-control")).toBe("no-store");
    const html = await res.text();
    const secret = SECRET.exec(html)?.[1] ?? "";
    expect(secret).toMatch(/^whsec_/);
    expect(html).toContain(`Signing secret for ${url}`);

    const list = await browser.get(page);
    expect(list.status).toBe(200);
    const listed = await list.text();
    expect(listed).not.toContain(secret);
    expect(listed).not.toContain("whsec_");
    expect(listed).toContain(`>${url}</a>`);
    expect(listed).toContain("<code>webhook.test</code>, <code>cluster.*</code>");
    expect(listed).toContain("&lt;b&gt;CI&lt;/b&gt; hook");
    expect(listed).toContain('<span class="badge enabled">enabled</span>');
  });

  it("sends a test event signed with the shown secret, logs its delivery, and replays it", async () => {
    const { browser, page } = await signedInAdmin();
    const endpoint = await added(browser, page);

    const sent = await browser.post(`${endpoint.path}/test`, {});
    expect(sent.status).toBe(303);
    expect(sent.headers.get("location")).toBe(`${endpoint.path}?notice=webhook_test_sent`);
    const [request] = await waitForRequests(endpoint.name, 1);
    if (!request) throw new Error("no request");
    const event = new Webhook(endpoint.secret).verify(request.body, request.headers) as { type: string };
    expect(event.type).toBe("webhook.test");

    const deliveryId = request.headers["webhook-id"] ?? "";
    const row = await deliveryRow(browser, endpoint.path, deliveryId, "delivered");
    expect(row).toContain("<code>webhook.test</code>");
    expect(row).toMatch(/<td>1<\/td><td>204<\/td><td>\d+ ms<\/td>/);
    expect(await (await browser.get(`${endpoint.path}?notice=webhook_test_sent`)).text()).toContain(
      "Test event sent.",
    );

    const replayed = await browser.post(`${endpoint.path}/deliveries/${deliveryId}/replay`, {});
    expect(replayed.status).toBe(303);
    expect(replayed.headers.get("location")).toBe(`${endpoint.path}?notice=webhook_replayed`);
    const requests = await waitForRequests(endpoint.name, 2);
    expect(requests[1]?.headers["webhook-id"]).toBe(deliveryId);
  });

  it("rotates the secret: the new one is shown once, and the previous one signs for a while", async () => {
    const { browser, page } = await signedInAdmin();
    const endpoint = await added(browser, page);

    const res = await browser.post(`${endpoint.path}/rotate-secret`, {});
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const html = await res.text();
    const rotated = SECRET.exec(html)?.[1] ?? "";
    expect(rotated).toMatch(/^whsec_/);
    expect(rotated).not.toBe(endpoint.secret);
    expect(html).toContain("The previous secret also signs until <time");

    for (const path of [page, endpoint.path])
      expect(await (await browser.get(path)).text()).not.toContain("whsec_");
  });

  it("disables and enables an endpoint; a disabled one refuses a test event with the API's reason", async () => {
    const { browser, page } = await signedInAdmin();
    const endpoint = await added(browser, page);

    const disabled = await browser.post(`${endpoint.path}/disable`, {});
    expect(disabled.status).toBe(303);
    expect(disabled.headers.get("location")).toBe(`${page}?notice=webhook_disabled`);
    const list = await (await browser.get(`${page}?notice=webhook_disabled`)).text();
    expect(list).toContain("Webhook endpoint disabled.");
    expect(list).toContain('<span class="badge disabled">disabled</span>');
    expect(list).toContain(`action="${endpoint.path}/enable"`);

    const test = await browser.post(`${endpoint.path}/test`, {});
    expect(test.status).toBe(409);
    expect(await test.text()).toContain("This webhook endpoint is disabled; enable it to send it events.");

    const enabled = await browser.post(`${endpoint.path}/enable`, {});
    expect(enabled.headers.get("location")).toBe(`${page}?notice=webhook_enabled`);
    expect(await (await browser.get(page)).text()).toContain('<span class="badge enabled">enabled</span>');
  });

  it("shows why an endpoint was disabled and since when it has been failing", async () => {
    const { browser, page } = await signedInAdmin();
    const endpoint = await added(browser, page);
    const since = "2026-01-02T03:04:00.000Z";
    await db.admin.query(
      "update webhook_endpoints set enabled = false, disabled_reason = 'failing', failing_since = $2 where id = $1",
      [endpoint.id, since],
    );
    for (const path of [page, endpoint.path]) {
      const html = await (await browser.get(path)).text();
      expect(html).toContain(
        '<span class="badge disabled">disabled</span><div class="hint">Reason: failing</div>',
      );
      expect(html).toContain(`<time datetime="${since}">2026-01-02 03:04 UTC</time>`);
    }
  });

  it("deletes an endpoint after a confirmation page", async () => {
    const { browser, page } = await signedInAdmin();
    const endpoint = await added(browser, page);

    const confirm = await browser.get(`${endpoint.path}/delete`);
    expect(confirm.status).toBe(200);
    expect(await confirm.text()).toContain(`Delete the webhook endpoint ${endpoint.url}?`);
    const deleted = await browser.post(`${endpoint.path}/delete`, {});
    expect(deleted.status).toBe(303);
    expect(deleted.headers.get("location")).toBe(`${page}?notice=webhook_deleted`);
    const list = await (await browser.get(`${page}?notice=webhook_deleted`)).text();
    expect(list).toContain("Webhook endpoint deleted, with its delivery log.");
    expect(list).not.toContain(endpoint.url);
    expect((await browser.get(endpoint.path)).status).toBe(404);
  });

  it("shows the API's refusals: a bad form is a 400 naming the fields, one over quota a 429", async () => {
    const { browser, page } = await signedInAdmin();
    const bad = await addEndpoint(browser, page, { url: "ftp://hooks.example.test/x", events: "nope" });
    expect(bad.status).toBe(400);
    const html = await bad.text();
    expect(html).toContain("Check the form");
    expect(html).toMatch(/<li>events\.0: Must be an event name/);
    expect(html).toContain('value="ftp://hooks.example.test/x"');
    expect(html).toContain(">nope</textarea>");

    await added(browser, page);
    await added(browser, page);
    const over = await addEndpoint(browser, page, {
      url: receiverUrl(uniqueHookName()),
      events: "audit.event",
    });
    expect(over.status).toBe(429);
    const refused = await over.text();
    expect(refused).toContain("Quota reached");
    expect(refused).toContain("The tenant has used 2 of 2 webhook endpoints.");
  });

  it("a tenant without the webhooks feature is told it is not on its plan", async () => {
    const { browser, page } = await signedInAdmin({ webhooks: false });
    const res = await browser.get(page);
    expect(res.status).toBe(403);
    expect(await res.text()).toContain("<h1>Not on this plan</h1>");
  });

  it("a member who is not an admin, or another tenant's admin, gets the admin-only refusal", async () => {
    const { tenant, page } = await signedInAdmin();
    const member = await signedIn(tenant, "member");
    const seen = await member.get(page);
    expect(seen.status).toBe(403);
    expect(await seen.text()).toContain("This route needs the admin role in the tenant.");
    const posted = await member.post(page, { url: receiverUrl(uniqueHookName()), events: "audit.event" });
    expect(posted.status).toBe(403);
    const { rows } = await db.admin.query(
      "select count(*)::int as n from webhook_endpoints where tenant_id = $1",
      [tenant.id],
    );
    expect(rows[0]?.n).toBe(0);

    const outsider = await signedInAdmin();
    const foreign = await outsider.browser.get(page);
    expect(foreign.status).toBe(403);
    expect(await foreign.text()).toContain("Your account can only see its own tenant.");
  });
});

/** The delivery's row on the endpoint page, once it has `status` (the queue consumer sends it). */
async function deliveryRow(
  browser: ConsoleBrowser,
  path: string,
  id: string,
  status: string,
): Promise<string> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const html = await (await browser.get(path)).text();
    const row = new RegExp(`<tr data-delivery="${id}">.*?</tr>`).exec(html)?.[0] ?? "";
    if (row.includes(`<span class="badge ${status}">`)) return row;
    if (Date.now() > deadline) throw new Error(`delivery ${id} is not ${status}: ${row || "not listed"}`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}
