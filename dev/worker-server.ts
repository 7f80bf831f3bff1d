/**
 * The Worker as a real HTTP server through Miniflare's API, for end-to-end tests over
 * HTTP and the benchmark: the same workerd runtime as `wrangler dev`, but started from code,
 * on a free port, with explicit bindings. Queues and crons mirror wrangler.toml.
 */
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { basename, resolve } from "node:path";
import { build } from "esbuild";
import { convertV4MiniflareOptions, Miniflare, type V4ModuleDefinition } from "miniflare";

const ROOT = resolve(import.meta.dirname, "..");
export const COMPATIBILITY_DATE = "2026-03-01";
const QUEUE = "tenantry-provisioning";
const NOTIFY_QUEUE = "tenantry-notifications";
const WEBHOOK_QUEUE = "tenantry-webhooks";

export interface WorkerServer {
  url: string;
  miniflare: Miniflare;
  stop(): Promise<void>;
}

/**
 * Bundles a Worker entry (default `src/index.ts`) the way wrangler does (ESM, workerd
 * conditions): one ES module plus each imported `.wasm` as its own CompiledWasm module
 * (workerd compiles no WebAssembly from bytes at run time; wrangler does the same).
 */
export async function bundleWorkerModules(entry = "src/index.ts"): Promise<V4ModuleDefinition[]> {
  const require = createRequire(import.meta.url);
  const wasm = new Map<string, string>();
  const result = await build({
    entryPoints: [resolve(ROOT, entry)],
    bundle: true,
    write: false,
    format: "esm",
    platform: "neutral",
    target: "es2023",
    conditions: ["workerd", "worker", "browser", "import"],
    mainFields: ["module", "main"],
    external: ["cloudflare:*", "node:*"],
    logLevel: "warning",
    plugins: [
      {
        name: "compiled-wasm",
        setup(b) {
          b.onResolve({ filter: /\.wasm$/ }, (args) => {
            const file = require.resolve(args.path, { paths: [args.resolveDir] });
            wasm.set(basename(file), file);
            return { path: `./${basename(file)}`, external: true };
          });
        },
      },
    ],
  });
  const modules: V4ModuleDefinition[] = [
    { type: "ESModule", path: "worker.mjs", contents: result.outputFiles[0]?.text },
  ];
  for (const [name, file] of wasm) {
    modules.push({ type: "CompiledWasm", path: name, contents: new Uint8Array(await readFile(file)) });
  }
  return modules;
}

export async function startWorkerServer(opts: {
  bindings: Record<string, string>;
  port?: number;
  /** Another Worker entry, relative to the repo root (the benchmark's floor Worker). */
  entry?: string;
}): Promise<WorkerServer> {
  const modules = await bundleWorkerModules(opts.entry);
  // Miniflare 5 takes a new option shape; the v4 shape below maps one-to-one to wrangler.toml.
  const options = convertV4MiniflareOptions({
    host: "127.0.0.1",
    port: opts.port ?? 0,
    unsafeTriggerHandlers: true,
    workers: [
      {
        name: "tenantry",
        modules,
        compatibilityDate: COMPATIBILITY_DATE,
        compatibilityFlags: ["nodejs_compat"],
        bindings: {
          BASE_DOMAIN: "localhost",
          RETENTION_DAYS: "30",
          RATE_LIMIT_FAILURE_MODE: "open",
          JWT_ISSUER: "tenantry",
          JWT_AUDIENCE: "tenantry-api",
          ...opts.bindings,
        },
        queueProducers: {
          PROVISION_QUEUE: { queueName: QUEUE },
          NOTIFY_QUEUE: { queueName: NOTIFY_QUEUE },
          WEBHOOK_QUEUE: { queueName: WEBHOOK_QUEUE },
        },
        queueConsumers: {
          [QUEUE]: { maxBatchSize: 10, maxBatchTimeout: 1, maxRetries: 5 },
          [NOTIFY_QUEUE]: { maxBatchSize: 10, maxBatchTimeout: 1, maxRetries: 5 },
          [WEBHOOK_QUEUE]: { maxBatchSize: 10, maxBatchTimeout: 1, maxRetries: 10 },
        },
      },
    ],
  });
  const miniflare = new Miniflare(options);
  const url = (await miniflare.ready).toString().replace(/\/$/, "");
  return {
    url,
    miniflare,
    stop: async () => {
      await miniflare.dispose();
    },
  };
}
