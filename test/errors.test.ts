import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createApp } from "../src/app";
import { expectProblem } from "./support/problems";

const fetchWorker = (path: string, init?: RequestInit) =>
  exports.default.fetch(`http://localhost${path}`, init);

describe("errors are RFC 9457 problem+json", () => {
  it("404 for an unknown route, with the request id", async () => {
    const res = await fetchWorker("/nope", { headers: { "X-Request-ID": "req-404.test" } });
    const body = await expectProblem(res, 404, "not_found");
    expect(body.request_id).toBe("req-404.test");
    expect(res.headers.get("X-Request-ID")).toBe("req-404.test");
  });

  it("405 with Allow for a known path and a wrong method", async () => {
    const res = await fetchWorker("/health", { method: "DELETE" });
    await expectProblem(res, 405, "method_not_allowed");
    expect(res.headers.get("Allow")).toBe("GET");
  });

  it("400 malformed_json for broken JSON", async () => {
    const res = await fetchWorker("/api/v1/anything", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"name": ',
    });
    await expectProblem(res, 400, "malformed_json");
  });

  it("400 malformed_json for invalid UTF-8", async () => {
    const res = await fetchWorker("/api/v1/anything", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]),
    });
    await expectProblem(res, 400, "malformed_json");
  });

  it("415 for a body that is not JSON", async () => {
    const res = await fetchWorker("/api/v1/anything", {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: "name=acme",
    });
    await expectProblem(res, 415, "unsupported_media_type");
  });

  it("413 for a body over 1 MiB, declared or streamed", async () => {
    const big = JSON.stringify({ blob: "x".repeat(1024 * 1024) });
    const declared = await fetchWorker("/api/v1/anything", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: big,
    });
    await expectProblem(declared, 413, "payload_too_large");

    const stream = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(big));
        controller.close();
      },
    });
    const streamed = await fetchWorker("/api/v1/anything", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: stream,
    });
    await expectProblem(streamed, 413, "payload_too_large");
  });

  it("500 internal for an unexpected exception, with nothing internal leaked", async () => {
    const app = createApp();
    app.get("/boom", () => {
      throw new Error("secret-detail at db.internal:5432 password=hunter2");
    });
    const res = await app.request("/boom", {}, env);
    const body = await expectProblem(res, 500, "internal");
    const text = JSON.stringify(body);
    expect(text).not.toContain("hunter2");
    expect(text).not.toContain("db.internal");
    expect(text).not.toContain("stack");
  });

  it("generates a request id when the offered one is not a sane token", async () => {
    const res = await fetchWorker("/health/live", { headers: { "X-Request-ID": "bad id<script>" } });
    const id = res.headers.get("X-Request-ID");
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("500 internal naming no secret when configuration is missing", async () => {
    const app = createApp();
    const res = await app.request("/health/live", {}, { ...env, JWT_SECRET: "" });
    await expectProblem(res, 500, "internal");
  });
});
