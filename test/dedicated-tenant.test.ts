/**
 * A dedicated tenant (test/support/dedicated.ts) next to a shared one: its resources, webhook
 * deliveries and their audit records live in its own database and not in the control one; its
 * audit trail, split between the two (identity writes stay in the control database), reads
 * as one list and one export; the shared tenant sees none of it.
 */
import { env } from "cloudflare:workers";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase } from "../src/db/client";
import { type Bindings, loadConfig } from "../src/env";
import { clearTenantCache } from "../src/services/tenancy/tenant-directory";
import { reconcileWebhooksTask } from "../src/webhooks/reconcile";
import { pools } from "./support/db";
import { type DedicatedDatabase, makeDedicated } from "./support/dedicated";
import { api, bearer, jsonInit, tenantWithRoles } from "./support/fixtures";
import { systemAdminHeaders } from "./support/populated-tenant";
import { receiverUrl, uniqueHookName, waitForRequests } from "./support/webhook-receiver";

type Fixture = Awaited<ReturnType<typeof tenantWithRoles>>;
interface AuditItem {
  id: string;
  action: string;
  created_at: string;
}

const db = pools();
let dedicated: Fixture;
let shared: Fixture;
let own: DedicatedDatabase;
const made: { cluster?: string; plugin?: string; credential?: string; apiKey?: string } = {};
const secretValue = `dedicated-secret-${crypto.randomUUID()}`;

const asAdmin = (f: Fixture) => bearer(f.users.admin.token);
const post = (f: Fixture, path: string, body: unknown) => api(path, jsonInit("POST", body, asAdmin(f)));

async function ok<T>(res: Promise<Response>, status: number): Promise<T> {
  const response = await res;
  expect(response.status, await response.clone().text()).toBe(status);
  return (await response.json()) as T;
}

/** The five-minute cron's webhook task, as the scheduler runs it: its summary. */
async function runReconcile(): Promise<Record<string, unknown>> {
  const config = loadConfig(env);
  const handle = openDatabase(config);
  try {
    return await reconcileWebhooksTask.run(handle, env as unknown as Bindings, config);
  } finally {
    await handle.close();
  }
}

async function count(pool: { query: DedicatedDatabase["admin"]["query"] }, table: string, tenantId: string) {
  const { rows } = await pool.query<{ n: number }>(
    `select count(*)::int as n from ${table} where tenant_id = $1`,
    [tenantId],
  );
  return rows[0]?.n ?? 0;
}

beforeAll(async () => {
  dedicated = await tenantWithRoles(db.admin, { plan: "enterprise" });
  own = await makeDedicated(db.admin, dedicated.tenant.id, { region: "eu-central" });
  shared = await tenantWithRoles(db.admin, { plan: "enterprise" });
});

afterAll(async () => {
  await own.drop();
  await db.end();
});

describe("a dedicated tenant's own rows", () => {
  it("clusters, plugins and credentials are created, listed, read and revealed from its own database", async () => {
    const cluster = await ok<{ id: string }>(
      post(dedicated, "/api/v1/clusters", {
        name: "ded-cluster",
        api_server_url: "https://ded.k8s.example.com:6443",
        region: "eu-central",
      }),
      201,
    );
    const plugin = await ok<{ id: string }>(
      post(dedicated, "/api/v1/plugins", { name: "ded-plugin", version: "1.0.0" }),
      201,
    );
    const credential = await ok<{ id: string }>(
      post(dedicated, "/api/v1/credentials", { name: "ded-credential", kind: "token", value: secretValue }),
      201,
    );
    Object.assign(made, { cluster: cluster.id, plugin: plugin.id, credential: credential.id });

    for (const [path, id] of [
      ["/api/v1/clusters", cluster.id],
      ["/api/v1/plugins", plugin.id],
      ["/api/v1/credentials", credential.id],
    ] as const) {
      const list = await ok<{ data: { id: string }[] }>(api(path, { headers: asAdmin(dedicated) }), 200);
      expect(list.data.map((item) => item.id)).toEqual([id]);
      expect(
        await ok<{ id: string }>(api(`${path}/${id}`, { headers: asAdmin(dedicated) }), 200),
      ).toMatchObject({
        id,
      });
    }
    const revealed = await ok<{ value: string }>(
      api(`/api/v1/credentials/${credential.id}/reveal`, { method: "POST", headers: asAdmin(dedicated) }),
      200,
    );
    expect(revealed.value).toBe(secretValue);

    for (const table of ["clusters", "plugins", "credentials"]) {
      expect(await count(own.admin, table, dedicated.tenant.id), table).toBe(1);
      expect(await count(db.admin, table, dedicated.tenant.id), table).toBe(0);
    }
    // The reveal's audit record is a resource's: in its own database.
    const { rows } = await own.admin.query(
      "select 1 from audit_events where tenant_id = $1 and action = 'credential.revealed'",
      [dedicated.tenant.id],
    );
    expect(rows).toHaveLength(1);
  });

  it("a shared tenant sees none of it", async () => {
    for (const [path, id] of [
      ["/api/v1/clusters", made.cluster],
      ["/api/v1/plugins", made.plugin],
      ["/api/v1/credentials", made.credential],
    ] as const) {
      const list = await ok<{ data: unknown[] }>(api(path, { headers: asAdmin(shared) }), 200);
      expect(list.data).toEqual([]);
      expect((await api(`${path}/${id}`, { headers: asAdmin(shared) })).status).toBe(404);
    }
    const audit = await ok<{ data: AuditItem[] }>(
      api("/api/v1/audit-events?limit=100", { headers: asAdmin(shared) }),
      200,
    );
    expect(audit.data).toEqual([]);
  });
});

describe("a dedicated tenant's webhooks", () => {
  it("an endpoint receives a signed delivery of a cluster change, written in its own database only", async () => {
    const name = uniqueHookName();
    const endpoint = await ok<{ id: string; secret: string }>(
      post(dedicated, "/api/v1/webhooks", { url: receiverUrl(name), events: ["cluster.created"] }),
      201,
    );
    const cluster = await ok<{ id: string }>(
      post(dedicated, "/api/v1/clusters", {
        name: "ded-hooked",
        api_server_url: "https://hooked.example.com",
        region: "eu-central",
      }),
      201,
    );
    const [request] = await waitForRequests(name, 1);
    if (!request) throw new Error("no request");
    const body = new Webhook(endpoint.secret).verify(request.body, {
      "webhook-id": request.headers["webhook-id"] ?? "",
      "webhook-timestamp": request.headers["webhook-timestamp"] ?? "",
      "webhook-signature": request.headers["webhook-signature"] ?? "",
    }) as { type: string; data: { target: { id: string } } };
    expect(body.type).toBe("cluster.created");
    expect(body.data.target.id).toBe(cluster.id);

    // The sender records the outcome after the receiver has answered: wait for it.
    const status = async () =>
      (
        await own.admin.query<{ status: string }>("select status from webhook_deliveries where id = $1", [
          request.headers["webhook-id"],
        ])
      ).rows[0]?.status;
    const deadline = Date.now() + 10_000;
    while ((await status()) !== "delivered" && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    expect(await status()).toBe("delivered");
    expect(await count(db.admin, "webhook_deliveries", dedicated.tenant.id)).toBe(0);
    expect(await count(db.admin, "webhook_endpoints", dedicated.tenant.id)).toBe(0);
  });

  it("the reconcile cron queues a delivery no request sent, in its own database", async () => {
    const name = uniqueHookName();
    const endpoint = await ok<{ id: string }>(
      post(dedicated, "/api/v1/webhooks", { url: receiverUrl(name), events: ["tenant.updated"] }),
      201,
    );
    const deliveryId = crypto.randomUUID();
    await own.admin.query(
      `select tenantry_emit_webhook_event($1, 'tenant.updated', '{"by": "test"}'::jsonb, $2, $3)`,
      [dedicated.tenant.id, endpoint.id, deliveryId],
    );
    // A delivery with a chosen id is written as queued (the test sends it itself elsewhere):
    // this one is to be found by the cron.
    await own.admin.query("update webhook_deliveries set queued_at = null where id = $1", [deliveryId]);
    expect((await runReconcile()).dedicated_databases).toBeGreaterThanOrEqual(1);
    const [request] = await waitForRequests(name, 1);
    expect(request?.headers["webhook-id"]).toBe(deliveryId);
  });
});

describe("a dedicated tenant's audit trail, split between two databases", () => {
  it("lists identity and resource records merged in order, the cursor walking both", async () => {
    const key = await ok<{ id: string; key: string }>(
      post(dedicated, "/api/v1/api-keys", { name: "ded-key", role: "viewer" }),
      201,
    );
    made.apiKey = key.id;
    // An identity row: in the control database, where authentication finds it.
    expect(await count(db.admin, "api_keys", dedicated.tenant.id)).toBe(1);
    expect(await count(own.admin, "api_keys", dedicated.tenant.id)).toBe(0);
    expect((await api("/api/v1/clusters", { headers: bearer(key.key) })).status).toBe(200);
    await ok(
      post(dedicated, "/api/v1/clusters", {
        name: "ded-after-key",
        api_server_url: "https://k.example.com",
        region: "eu-central",
      }),
      201,
    );
    // Each database holds its own half.
    const inControl = await db.admin.query(
      "select 1 from audit_events where tenant_id = $1 and action = 'api_key.created'",
      [dedicated.tenant.id],
    );
    expect(inControl.rows).toHaveLength(1);
    expect(await count(own.admin, "audit_events", dedicated.tenant.id)).toBeGreaterThan(0);

    const whole = await ok<{ data: AuditItem[]; next_cursor: string | null }>(
      api("/api/v1/audit-events?limit=100", { headers: asAdmin(dedicated) }),
      200,
    );
    expect(whole.next_cursor).toBeNull();
    const actions = whole.data.map((item) => item.action);
    expect(actions).toContain("api_key.created");
    expect(actions).toContain("cluster.created");
    expect(actions.indexOf("api_key.created")).toBeLessThan(actions.lastIndexOf("cluster.created"));
    const keys = whole.data.map((item) => [item.created_at, item.id].join(" "));
    expect(keys).toEqual([...keys].sort());

    const walked: AuditItem[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor ? `&cursor=${cursor}` : "";
      const page: { data: AuditItem[]; next_cursor: string | null } = await ok(
        api(`/api/v1/audit-events?limit=2${query}`, { headers: asAdmin(dedicated) }),
        200,
      );
      expect(page.data.length).toBeLessThanOrEqual(2);
      walked.push(...page.data);
      cursor = page.next_cursor;
    } while (cursor);
    expect(walked).toEqual(whole.data);

    // A system admin's view of the same trail, by `?tenant=`.
    const sys = await systemAdminHeaders(db.admin);
    const bySys = await ok<{ data: AuditItem[] }>(
      api(`/api/v1/audit-events?limit=100&tenant=${dedicated.tenant.slug}`, { headers: sys }),
      200,
    );
    expect(bySys.data.map((item) => item.id)).toEqual(whole.data.map((item) => item.id));
  });

  it("the export holds its placement, its identity rows, its resources and both halves of the trail", async () => {
    const res = await api(`/api/v1/tenants/${dedicated.tenant.id}/export`, { headers: asAdmin(dedicated) });
    expect(res.status).toBe(200);
    const lines = (await res.text())
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { type: string; data: Record<string, unknown> });
    const ofType = (type: string) => lines.filter((line) => line.type === type).map((line) => line.data);
    expect(ofType("tenant")[0]).toMatchObject({ isolation: "dedicated", region: "eu-central" });
    expect(ofType("member")).toHaveLength(3);
    expect(ofType("api_key").map((row) => row.id)).toContain(made.apiKey);
    expect(ofType("cluster").map((row) => row.id)).toContain(made.cluster);
    expect(ofType("plugin").map((row) => row.id)).toEqual([made.plugin]);
    expect(ofType("credential").map((row) => row.id)).toEqual([made.credential]);
    const audit = ofType("audit_event") as unknown as AuditItem[];
    const actions = audit.map((row) => row.action);
    expect(actions).toEqual(
      expect.arrayContaining(["api_key.created", "cluster.created", "tenant.exported"]),
    );
    const keys = audit.map((row) => `${row.created_at} ${row.id}`);
    expect(keys).toEqual([...keys].sort());
    expect(lines.at(-1)?.type).toBe("end");
    expect(JSON.stringify(lines)).not.toContain(secretValue);
  });
});

describe("a dedicated tenant's events of the control database (the relay)", () => {
  it("identity and lifecycle events reach its endpoint, each once, and leave nothing waiting", async () => {
    const name = uniqueHookName();
    await ok(
      post(dedicated, "/api/v1/webhooks", { url: receiverUrl(name), events: ["api_key.*", "tenant.*"] }),
      201,
    );
    const flag = await db.admin.query<{ has_webhooks: boolean }>(
      "select has_webhooks from tenants where id = $1",
      [dedicated.tenant.id],
    );
    expect(flag.rows[0]?.has_webhooks).toBe(true);
    // An identity write: its audit record (and event) is in the control database.
    const key = await ok<{ id: string }>(
      post(dedicated, "/api/v1/api-keys", { name: "relayed", role: "viewer" }),
      201,
    );
    // A lifecycle change by a system admin.
    const sys = await systemAdminHeaders(db.admin);
    const patched = await api(
      `/api/v1/tenants/${dedicated.tenant.id}`,
      jsonInit("PATCH", { settings: { relayed: true } }, sys),
    );
    expect(patched.status, await patched.clone().text()).toBe(200);
    const requests = await waitForRequests(name, 2);
    const types = requests.map(
      (r) => JSON.parse(r.body) as { type: string; data: { target?: { id?: string } } },
    );
    expect(types.map((t) => t.type).sort()).toEqual(["api_key.created", "tenant.updated"]);
    expect(types.find((t) => t.type === "api_key.created")?.data.target?.id).toBe(key.id);
    // Emitted in its own database; nothing left waiting in the control one.
    expect(await count(db.admin, "webhook_relay", dedicated.tenant.id)).toBe(0);
    expect(await count(db.admin, "webhook_deliveries", dedicated.tenant.id)).toBe(0);
    // A relay repeated (the cron) emits nothing twice.
    await runReconcile();
    await new Promise((r) => setTimeout(r, 500));
    expect(await waitForRequests(name, 2)).toHaveLength(2);
    const { rows } = await own.admin.query<{ n: number }>(
      "select count(*)::int as n from webhook_deliveries where tenant_id = $1 and event_type in ('api_key.created', 'tenant.updated') and endpoint_id in (select id from webhook_endpoints where url = $2)",
      [dedicated.tenant.id, receiverUrl(name)],
    );
    expect(rows[0]?.n).toBe(2);
  });

  it("an event left waiting (no request swept it) is relayed by the reconcile cron", async () => {
    const name = uniqueHookName();
    await ok(post(dedicated, "/api/v1/webhooks", { url: receiverUrl(name), events: ["member.*"] }), 201);
    // As the cron finds it: written in the control database, and no request swept it.
    await db.admin.query(
      `select tenantry_emit_webhook_event($1::uuid, 'member.added', '{"by": "test"}'::jsonb)`,
      [dedicated.tenant.id],
    );
    expect(await count(db.admin, "webhook_relay", dedicated.tenant.id)).toBe(1);
    expect((await runReconcile()).relayed_tenants).toBeGreaterThanOrEqual(1);
    const [request] = await waitForRequests(name, 1);
    expect((JSON.parse(request?.body ?? "{}") as { type: string }).type).toBe("member.added");
    expect(await count(db.admin, "webhook_relay", dedicated.tenant.id)).toBe(0);
  });

  it("a stale flag (has_webhooks false) delays an event until the cron, never loses it", async () => {
    const name = uniqueHookName();
    await ok(post(dedicated, "/api/v1/webhooks", { url: receiverUrl(name), events: ["api_key.*"] }), 201);
    // As if two endpoint changes had raced: the control database thinks it has none.
    await db.admin.query("update tenants set has_webhooks = false where id = $1", [dedicated.tenant.id]);
    clearTenantCache();
    const key = await ok<{ id: string }>(
      post(dedicated, "/api/v1/api-keys", { name: "stale", role: "viewer" }),
      201,
    );
    // No sweep relayed it (the record said no endpoints), but it is kept.
    await new Promise((r) => setTimeout(r, 300));
    const { rows } = await db.admin.query<{ event_type: string }>(
      "select event_type from webhook_relay where tenant_id = $1",
      [dedicated.tenant.id],
    );
    expect(rows.map((r) => r.event_type)).toContain("api_key.created");
    await runReconcile();
    const [request] = await waitForRequests(name, 1);
    const event = JSON.parse(request?.body ?? "{}") as { type: string; data: { target?: { id?: string } } };
    expect(event.type).toBe("api_key.created");
    expect(event.data.target?.id).toBe(key.id);
    await db.admin.query("update tenants set has_webhooks = true where id = $1", [dedicated.tenant.id]);
  });
});
