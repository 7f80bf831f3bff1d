import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createApp } from "../src/app";
import { openApiDocument } from "../src/routes/docs/docs.index";
import { api } from "./support/fixtures";

describe("API reference and OpenAPI document", () => {
  it("/docs loads its script from this origin's static assets under a strict CSP, nothing from a CDN", async () => {
    const res = await api("/docs");
    expect(res.status).toBe(200);
    const csp = res.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toMatch(/https?:/);
    const html = await res.text();
    const scripts = [...html.matchAll(/<script([^>]*)>([^<]*)<\/script>/g)];
    expect(scripts.length).toBe(2);
    for (const [, attrs, body] of scripts) {
      expect(body?.trim(), "no inline script").toBe("");
      const src = /src="([^"]+)"/.exec(attrs ?? "")?.[1] ?? "";
      expect(src.startsWith("/docs/assets/"), src).toBe(true);
      // Served by Workers Static Assets from public/ (the bundle copied from the npm package).
      const asset = await env.ASSETS?.fetch(`http://localhost${src}`);
      expect(asset?.status, src).toBe(200);
      expect((await asset?.text())?.length, src).toBeGreaterThan(src.endsWith("scalar.js") ? 1_000_000 : 50);
    }
  });

  it("the OpenAPI document is built once per app and isolate, and served as built", async () => {
    const app = createApp();
    const first = openApiDocument(app);
    expect(openApiDocument(app)).toBe(first);
    const served = await (await api("/openapi.json")).json();
    expect((served as { info: { title: string } }).info.title).toBe(first.info.title);
    expect(Object.keys((served as { paths: object }).paths).sort()).toEqual(
      Object.keys(first.paths ?? {}).sort(),
    );
  });
});
