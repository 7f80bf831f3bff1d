import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Backends, startBackends } from "../../dev/backends";
import { startWorkerServer, type WorkerServer } from "../../dev/worker-server";

/** The Worker over real HTTP (Miniflare's server), against the real local backends. */
describe("the Worker over HTTP", () => {
  let backends: Backends;
  let worker: WorkerServer;

  beforeAll(async () => {
    const runId = randomBytes(4).toString("hex");
    backends = await startBackends({
      dataDir: join(tmpdir(), `tenantry-e2e-${process.pid}-${runId}`),
      persistent: false,
      database: `tenantry_e2e_${runId}`,
      dropOnStop: Boolean(process.env.DATABASE_URL),
      adminEmail: "admin@e2e.test",
      adminPassword: "e2e-admin-password",
    });
    worker = await startWorkerServer({
      bindings: {
        DATABASE_URL: backends.databaseUrl,
        NEON_LOCAL_PROXY: backends.neonProxy,
        NEON_LOCAL_HTTP: backends.neonHttp,
        UPSTASH_REDIS_REST_URL: backends.upstashUrl,
        UPSTASH_REDIS_REST_TOKEN: backends.upstashToken,
        JWT_SECRET: randomBytes(32).toString("base64url"),
        MASTER_KEY: randomBytes(32).toString("base64"),
        PROVISIONER_SECRET: randomBytes(32).toString("base64url"),
        PROVISIONER_URL: "http://127.0.0.1:1",
      },
    });
  }, 120_000);

  afterAll(async () => {
    await worker?.stop();
    await backends?.stop();
  });

  it("serves /health with both backends ok", async () => {
    const res = await fetch(`${worker.url}/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok", checks: { db: "ok", redis: "ok" } });
  });

  it("echoes X-Request-ID and answers problem+json for unknown routes", async () => {
    const res = await fetch(`${worker.url}/missing`, { headers: { "X-Request-ID": "e2e-1" } });
    expect(res.status).toBe(404);
    expect(res.headers.get("x-request-id")).toBe("e2e-1");
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    expect(await res.json()).toMatchObject({ code: "not_found", request_id: "e2e-1" });
  });

  it("serves the OpenAPI 3.1 document", async () => {
    const res = await fetch(`${worker.url}/openapi.json`);
    const doc = (await res.json()) as { openapi: string; paths: Record<string, unknown> };
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths)).toContain("/health");
  });
});
