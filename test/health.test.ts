import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../src/index";
import { call, closedPort } from "./support/http";

describe("GET /health", () => {
  it("reports db and redis ok through the real fetch entry", async () => {
    const res = await exports.default.fetch("http://localhost/health");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok", checks: { db: "ok", redis: "ok" } });
  });

  it("answers 503 degraded when Postgres is down", async () => {
    const deadDb = new URL(env.DATABASE_URL);
    deadDb.port = String(await closedPort());
    const res = await call(worker, "/health", {}, { DATABASE_URL: deadDb.toString() });
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ status: "degraded", checks: { db: "error", redis: "ok" } });
  });

  it("answers 503 degraded when Redis is down", async () => {
    const deadRedis = new URL(env.UPSTASH_REDIS_REST_URL);
    deadRedis.port = String(await closedPort());
    const res = await call(worker, "/health", {}, { UPSTASH_REDIS_REST_URL: deadRedis.toString() });
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ status: "degraded", checks: { db: "ok", redis: "error" } });
  });

  it("has a liveness route that touches no backend", async () => {
    const res = await exports.default.fetch("http://localhost/health/live");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok" });
  });
});
