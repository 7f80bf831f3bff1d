import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createTenantryClient,
  type ExportLine,
  readExport,
  type Schemas,
  type TenantryClient,
  type TenantryCredential,
} from "../../clients/typescript/src/index";
import { startWorkerStack, type WorkerStack } from "./support/worker-stack";

/**
 * The Worker over real HTTP (Miniflare's server), against the real local backends, called
 * through the typed client (@tenantry/client) the way an integrator would: no hand-written
 * paths, bodies or casts, so a contract change that breaks a client breaks this file.
 */
describe("the Worker over HTTP", () => {
  let stack: WorkerStack;
  const url = (path: string) => `${stack.worker.url}${path}`;
  const client = (auth: TenantryCredential & { tenant?: string } = {}) =>
    createTenantryClient({ baseUrl: stack.worker.url, ...auth });

  beforeAll(async () => {
    stack = await startWorkerStack({
      name: "e2e",
      adminEmail: "admin@e2e.test",
      adminPassword: "e2e-admin-password",
    });
  }, 120_000);

  afterAll(async () => {
    await stack?.stop();
  });

  it("serves /health with both backends ok", async () => {
    const { data, response } = await client().GET("/health");
    expect(response.status).toBe(200);
    expect(data).toEqual({ status: "ok", checks: { db: "ok", redis: "ok" } });
  });

  // Neither an unknown path nor the document itself is an operation of the document.
  it("echoes X-Request-ID and answers problem+json for unknown routes", async () => {
    const res = await fetch(url("/missing"), { headers: { "X-Request-ID": "e2e-1" } });
    expect(res.status).toBe(404);
    expect(res.headers.get("x-request-id")).toBe("e2e-1");
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    expect(await res.json()).toMatchObject({ code: "not_found", request_id: "e2e-1" });
  });

  it("serves the OpenAPI 3.1 document", async () => {
    const res = await fetch(url("/openapi.json"));
    const doc = (await res.json()) as { openapi: string; paths: Record<string, unknown> };
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths)).toContain("/health");
  });

  it("logs in the seeded admin over HTTP", async () => {
    const { data, response } = await client().POST("/api/v1/auth/login", {
      body: { email: "admin@e2e.test", password: "e2e-admin-password" },
    });
    expect(response.status).toBe(200);
    expect(data).toMatchObject({ token_type: "Bearer", tenant: { slug: "default", role: "admin" } });
  });

  it("answers a wrong password with a typed problem", async () => {
    const { data, error, response } = await client().POST("/api/v1/auth/login", {
      body: { email: "admin@e2e.test", password: "not-the-password" },
    });
    expect(data).toBeUndefined();
    expect(response.status).toBe(401);
    expect(error?.code).toBe("unauthenticated");
  });

  describe("a tenant's life through the client", () => {
    let system: TenantryClient;
    let acmeKey: string;
    let created: Schemas["CreatedTenant"];

    beforeAll(async () => {
      const { data } = await client().POST("/api/v1/auth/login", {
        body: { email: "admin@e2e.test", password: "e2e-admin-password" },
      });
      if (!data) throw new Error("the seeded admin could not log in");
      system = client({ token: data.access_token });
    });

    it("creates a tenant (system admin), idempotently", async () => {
      const body = {
        name: "Acme",
        slug: "acme",
        plan: "pro",
        admin_email: "owner@acme.test",
      } satisfies Schemas["CreateTenant"];
      const headers = { "idempotency-key": "e2e-create-acme" };
      const first = await system.POST("/api/v1/tenants", { body, headers });
      expect(first.response.status).toBe(201);
      if (!first.data) throw new Error(`create failed: ${first.error?.code}`);
      created = first.data;
      expect(created.tenant).toMatchObject({ slug: "acme", plan: "pro", status: "active" });
      expect(created.api_key.key).toMatch(/^uk_acme_/);
      acmeKey = created.api_key.key;

      const replay = await system.POST("/api/v1/tenants", { body, headers });
      expect(replay.response.headers.get("idempotency-replayed")).toBe("true");
      expect(replay.data?.tenant.id).toBe(created.tenant.id);
    });

    it("calls tenant routes with the tenant's API key and X-Tenant-ID", async () => {
      const acme = client({ apiKey: acmeKey, tenant: "acme" });
      const members = await acme.GET("/api/v1/members", { params: { query: { limit: 10 } } });
      expect(members.response.status).toBe(200);
      expect(members.data?.data.map((m) => [m.email, m.role])).toEqual([["owner@acme.test", "admin"]]);
      expect(members.response.headers.get("ratelimit")).toMatch(/"tenant";r=\d+/);

      const viewer = await acme.POST("/api/v1/api-keys", { body: { name: "dashboards", role: "viewer" } });
      expect(viewer.response.status).toBe(201);
      if (!viewer.data) throw new Error(`api key create failed: ${viewer.error?.code}`);
      const me = await client({ apiKey: viewer.data.key }).GET("/api/v1/me");
      expect(me.data).toMatchObject({ auth: "api_key", role: "viewer", tenant: { slug: "acme" } });

      // A viewer may not create keys: the problem is typed like any answer.
      const refused = await client({ apiKey: viewer.data.key }).POST("/api/v1/api-keys", {
        body: { name: "nope", role: "admin" },
      });
      expect(refused.response.status).toBe(403);
      expect(refused.error?.code).toBe("forbidden");
    });

    it("refuses the key in another tenant: 403 tenant_mismatch", async () => {
      const { error, response } = await client({ apiKey: acmeKey, tenant: "default" }).GET("/api/v1/members");
      expect(response.status).toBe(403);
      expect(error?.code).toBe("tenant_mismatch");
    });

    it("invites a member and lists the pending invitation", async () => {
      const acme = client({ apiKey: acmeKey });
      const invite = await acme.POST("/api/v1/invitations", {
        body: { email: "dev@acme.test", role: "member" },
      });
      expect(invite.response.status).toBe(201);
      expect(invite.data?.invitation).toMatchObject({ email: "dev@acme.test", role: "member" });
      const pending = await acme.GET("/api/v1/invitations");
      expect(pending.data?.data.map((i) => i.email)).toEqual(["dev@acme.test"]);
    });

    it("suspends, refuses the tenant's calls, reactivates", async () => {
      const path = { params: { path: { id: "acme" } } };
      const suspended = await system.POST("/api/v1/tenants/{id}/suspend", {
        ...path,
        body: { reason: "unpaid invoice" },
      });
      expect(suspended.data).toMatchObject({ status: "suspended", suspend_reason: "unpaid invoice" });

      const refused = await client({ apiKey: acmeKey }).GET("/api/v1/members");
      expect(refused.response.status).toBe(403);
      expect(refused.error?.code).toBe("tenant_suspended");

      const reactivated = await system.POST("/api/v1/tenants/{id}/reactivate", path);
      expect(reactivated.data?.status).toBe("active");
      const back = await client({ apiKey: acmeKey }).GET("/api/v1/members");
      expect(back.response.status).toBe(200);
    });

    it("pages the tenant list and reads usage against quotas", async () => {
      const first = await system.GET("/api/v1/tenants", { params: { query: { limit: 1 } } });
      expect(first.data?.data).toHaveLength(1);
      const cursor = first.data?.next_cursor;
      expect(cursor).toEqual(expect.any(String));
      const second = await system.GET("/api/v1/tenants", {
        params: { query: { limit: 1, cursor: cursor ?? undefined } },
      });
      expect(second.data?.data[0]?.id).not.toBe(first.data?.data[0]?.id);

      const usage = await system.GET("/api/v1/tenants/{id}/usage", { params: { path: { id: "acme" } } });
      expect(usage.data?.tenant_id).toBe(created.tenant.id);
      expect(usage.data?.quotas.api_keys).toEqual({ limit: expect.any(Number), used: 2 });
    });

    it("streams the export as NDJSON lines (parseAs: stream)", async () => {
      const { data, error, response } = await client({ apiKey: acmeKey }).GET("/api/v1/tenants/{id}/export", {
        params: { path: { id: "acme" } },
        parseAs: "stream",
      });
      expect(error).toBeUndefined();
      expect(response.headers.get("content-type")).toMatch(/^application\/x-ndjson/);
      const lines: ExportLine[] = [];
      for await (const line of readExport(data)) lines.push(line);

      expect(lines[0]).toMatchObject({ type: "tenant", data: { slug: "acme" } });
      const members = lines.filter((line) => line.type === "member");
      expect(members.map((line) => line.data.email)).toEqual(["owner@acme.test"]);
      const end = lines.at(-1);
      if (end?.type !== "end") throw new Error("the export did not end with its `end` line");
      expect(end.data.counts).toMatchObject({ tenant: 1, member: 1, invitation: 1, api_key: 2 });
    });
  });
});
