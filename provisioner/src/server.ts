/**
 * Starts the provisioner in-process: the container entry point, the dev stack and the
 * Worker's end-to-end tests all go through `startProvisioner`.
 */
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { getRequestListener } from "@hono/node-server";
import { KubeConfig } from "@kubernetes/client-node";
import type { ProvisionerMode } from "@tenantry/contract";
import { createProvisionerApp } from "./app";
import { MIN_METRICS_TOKEN_LENGTH, MIN_SECRET_BYTES } from "./config";
import { createTenantDatabases, type DatabasesOptions } from "./databases/configure";
import { createKubeClient } from "./kube";
import { jsonLogger, type Logger } from "./log";
import { createMetrics } from "./metrics";
import { DEFAULT_REPLAY_CACHE_CAPACITY, ReplayCache } from "./replay-cache";

const DEFAULT_PORT = 8080;
const DEFAULT_TIMEOUT_MS = 10_000;
/** In-flight jobs get this long to finish on stop before their connections are cut. */
const STOP_GRACE_MS = 5_000;

export interface StartProvisionerOptions {
  /** Default 8080; 0 picks a free port. */
  port?: number;
  /** Default 127.0.0.1; the container listens on 0.0.0.0. */
  hostname?: string;
  /** PROVISIONER_SECRET, the HS256 key job tokens are signed with; at least 32 bytes. */
  secret: string;
  /** A kubeconfig file path or a loaded KubeConfig (e.g. `loadFromCluster()`). */
  kubeconfig?: string | KubeConfig;
  /** A plain-http API server URL without credentials (the fake API in tests, dev). */
  server?: string;
  /**
   * Applies nothing and logs what it would apply (PROVISIONER_MODE=dry-run). Never implied:
   * without it, a provisioner with no cluster refuses to start.
   */
  dryRun?: boolean;
  /** Budget for all Kubernetes requests of one job; default 10 s. */
  timeoutMs?: number;
  /** METRICS_TOKEN: when set, `/metrics` requires it as a Bearer token. */
  metricsToken?: string;
  /** How many used `jti`s may be remembered at once (replay-cache.ts); default 10,000. */
  replayCacheCapacity?: number;
  log?: Logger;
  /** The dedicated databases' provider (DATABASE_PROVIDER); none when absent. */
  databases?: DatabasesOptions;
}

export interface RunningProvisioner {
  port: number;
  url: string;
  mode: ProvisionerMode;
  stop(): Promise<void>;
}

/** provisioner/package.json, next to src/ in the repository and to dist/ in the image. */
const VERSION = readVersion();

export async function startProvisioner(opts: StartProvisionerOptions): Promise<RunningProvisioner> {
  if (!opts.secret) throw new Error("startProvisioner: secret (PROVISIONER_SECRET) is required");
  if (Buffer.byteLength(opts.secret, "utf8") < MIN_SECRET_BYTES) {
    throw new Error(
      `startProvisioner: secret (PROVISIONER_SECRET) must be at least ${MIN_SECRET_BYTES} bytes`,
    );
  }
  if (opts.metricsToken !== undefined && opts.metricsToken.length < MIN_METRICS_TOKEN_LENGTH) {
    throw new Error(`startProvisioner: metricsToken must be at least ${MIN_METRICS_TOKEN_LENGTH} characters`);
  }
  const log = opts.log ?? jsonLogger;
  const kc = loadKubeConfig(opts);
  const app = createProvisionerApp({
    secret: opts.secret,
    kube: kc ? createKubeClient(kc) : undefined,
    timeoutMs: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    metrics: createMetrics(),
    log,
    replayCache: new ReplayCache(opts.replayCacheCapacity ?? DEFAULT_REPLAY_CACHE_CAPACITY),
    metricsToken: opts.metricsToken,
    version: VERSION,
    databases: opts.databases ? createTenantDatabases(opts.databases) : undefined,
  });

  const server = createServer(getRequestListener(app.fetch));
  const hostname = opts.hostname ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? DEFAULT_PORT, hostname, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const mode: ProvisionerMode = kc ? "live" : "dry_run";
  const host = hostname === "0.0.0.0" || hostname === "::" ? "127.0.0.1" : hostname;
  log({
    level: "info",
    msg: "provisioner listening",
    port,
    mode,
    version: VERSION,
    databases: opts.databases?.provider ?? "none",
    ...(kc ? { cluster: kc.getCurrentCluster()?.server } : {}),
  });

  return {
    port,
    url: `http://${host.includes(":") ? `[${host}]` : host}:${port}`,
    mode,
    stop: () =>
      new Promise<void>((resolve, reject) => {
        const force = setTimeout(() => server.closeAllConnections(), STOP_GRACE_MS);
        server.close((err) => {
          clearTimeout(force);
          if (err) reject(err);
          else resolve();
        });
        server.closeIdleConnections();
      }),
  };
}

function loadKubeConfig(opts: StartProvisionerOptions): KubeConfig | undefined {
  if (opts.dryRun) return undefined;
  if (opts.server) {
    if (new URL(opts.server).protocol !== "http:") {
      throw new Error(
        "startProvisioner: `server` takes a plain http:// URL; give real clusters a kubeconfig",
      );
    }
    // client-node 2.0.1 refuses http:// unless skipTLSVerify is set; without TLS the flag
    // disables nothing, which is why https URLs are refused above.
    const kc = new KubeConfig();
    kc.loadFromClusterAndUser(
      { name: "tenantry", server: opts.server, skipTLSVerify: true },
      { name: "tenantry" },
    );
    return kc;
  }
  if (typeof opts.kubeconfig === "string") {
    const kc = new KubeConfig();
    kc.loadFromFile(opts.kubeconfig);
    return kc;
  }
  if (!opts.kubeconfig) {
    throw new Error(
      "startProvisioner: no cluster (kubeconfig or server) configured; pass dryRun: true to run without one",
    );
  }
  return opts.kubeconfig;
}

function readVersion(): string {
  try {
    const { version } = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
    return typeof version === "string" ? version : "unknown";
  } catch {
    return "unknown";
  }
}
