import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorkerStack, type WorkerStack } from "./support/worker-stack";

/** The Worker over real HTTP (Miniflare's server), against the real local backends. */
describe("the Worker over HTTP", () => {
  let stack: WorkerStack;
  const url = (path: string) => `${stack.worker.url}${path}`;

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
    const res = await fetch(url("/health"));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok", checks: { db: "ok", redis: "ok" } });
  });

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
    const res = await fetch(url("/api/v1/auth/login"), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: "admin@e2e.test", password: "e2e-admin-password" }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      token_type: "Bearer",
      tenant: { slug: "default", role: "admin" },
    });
  });
});
