/**
 * Writes the OpenAPI document exactly as the Worker serves it: the Worker is bundled the way
 * wrangler bundles it, started in workerd through Miniflare (no port, no backend), and asked
 * for `GET /openapi.json`. Nothing from `src/` is imported into Node, so the document is the
 * one clients download, and what reads it (the OpenAPI lint, a client generator) sees no other.
 *
 *   tsx scripts/openapi-dump.ts                       # to stdout
 *   tsx scripts/openapi-dump.ts --out .dev/openapi.json
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { parseArgs } from "node:util";
import { convertV4MiniflareOptions, Miniflare } from "miniflare";
import { bundleWorkerModules, COMPATIBILITY_DATE } from "../dev/worker-server";

/**
 * The configuration must parse for any request to be served, but serving the document reaches
 * no backend: these point at a closed loopback port, so nothing is ever contacted.
 */
const UNUSED = "http://127.0.0.1:9";
const BINDINGS: Record<string, string> = {
  BASE_DOMAIN: "localhost",
  JWT_ISSUER: "tenantry",
  JWT_AUDIENCE: "tenantry-api",
  DATABASE_URL: "postgres://unused@127.0.0.1:9/unused",
  JWT_SECRET: "openapi-dump-secret-never-used-for-anything",
  UPSTASH_REDIS_REST_URL: UNUSED,
  UPSTASH_REDIS_REST_TOKEN: "unused",
  MASTER_KEY: btoa(String.fromCharCode(...new Uint8Array(32))),
  PROVISIONER_URL: UNUSED,
  PROVISIONER_SECRET: "openapi-dump-secret-never-used-for-anything",
  LOG_LEVEL: "error",
};

const { values } = parseArgs({ options: { out: { type: "string" } } });

const miniflare = new Miniflare(
  convertV4MiniflareOptions({
    modules: await bundleWorkerModules(),
    compatibilityDate: COMPATIBILITY_DATE,
    compatibilityFlags: ["nodejs_compat"],
    bindings: BINDINGS,
  }),
);
try {
  const res = await miniflare.dispatchFetch("http://localhost/openapi.json");
  const text = await res.text();
  if (res.status !== 200) throw new Error(`GET /openapi.json answered ${res.status}: ${text.slice(0, 300)}`);
  const document = `${JSON.stringify(JSON.parse(text), null, 2)}\n`;
  if (values.out) {
    mkdirSync(dirname(values.out), { recursive: true });
    writeFileSync(values.out, document);
  } else {
    process.stdout.write(document);
  }
} finally {
  await miniflare.dispose();
}
