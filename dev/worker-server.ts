/**
 * The Worker as a real HTTP server through Miniflare's API, for end-to-end tests over
 * HTTP and the benchmark: the same workerd runtime as `wrangler dev`, but started from code,
 * on a free port, with explicit bindings. Queues and crons mirror wrangler.toml.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { build } from "esbuild";
import { convertV4MiniflareOptions, Miniflare } from "miniflare";

const ROOT = resolve(import.meta.dirname, "..");
export const COMPATIBILITY_DATE = "2026-03-01";
const QUEUE = "tenantry-provisioning";

export interface WorkerServer {
  url: string;
  miniflare: Miniflare;
  stop(): Promise<void>;
}

/** Bundles a Worker entry (default `src/index.ts`) the way wrangler does (ESM, workerd conditions). */
export async function bundleWorker(outDir: string, entry = "src/index.ts"): Promise<string> {
  const outfile = join(outDir, "worker.mjs");
  await build({
    entryPoints: [join(ROOT, entry)],
    outfile,
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2023",
    conditions: ["workerd", "worker", "browser", "import"],
    mainFields: ["module", "main"],
    external: ["cloudflare:*", "node:*"],
    logLevel: "warning",
  });
  return outfile;
}

export async function startWorkerServer(opts: {
  bindings: Record<string, string>;
  port?: number;
  /** Another Worker entry, relative to the repo root (the benchmark's floor Worker). */
  entry?: string;
}): Promise<WorkerServer> {
  const outDir = await mkdtemp(join(tmpdir(), "tenantry-worker-"));
  const scriptPath = await bundleWorker(outDir, opts.entry);
  // Miniflare 5 takes a new option shape; the v4 shape below maps one-to-one to wrangler.toml.
  const options = convertV4MiniflareOptions({
    host: "127.0.0.1",
    port: opts.port ?? 0,
    unsafeTriggerHandlers: true,
    workers: [
      {
        name: "tenantry",
        modules: true,
        scriptPath,
        modulesRoot: outDir,
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
        queueProducers: { PROVISION_QUEUE: { queueName: QUEUE } },
        queueConsumers: { [QUEUE]: { maxBatchSize: 10, maxBatchTimeout: 1, maxRetries: 5 } },
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
      await rm(outDir, { recursive: true, force: true });
    },
  };
}
