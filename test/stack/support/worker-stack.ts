/**
 * The whole local stack for Node-side end-to-end tests: real Postgres and Redis behind the
 * Neon and Upstash stand-ins, the Worker over real HTTP (Miniflare), and optionally the
 * provisioner applying to the strict fake Kubernetes API, so provisioning jobs really succeed
 * (a dry-run provisioner's jobs end as `dry_run`). Everything on free ports, in a fresh
 * database, stopped in reverse order.
 */
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Backends, startBackends } from "../../../dev/backends";
import { startWorkerServer, type WorkerServer } from "../../../dev/worker-server";
import { startProvisioner } from "../../../provisioner/src/server";
import { startFakeKubeApi } from "../../../provisioner/test/support/fake-kube-api";

/** The Worker's bindings for the stand-ins `startBackends` started, with fresh secrets. */
export function backendBindings(backends: Backends): Record<string, string> {
  return {
    DATABASE_URL: backends.databaseUrl,
    NEON_LOCAL_PROXY: backends.neonProxy,
    NEON_LOCAL_HTTP: backends.neonHttp,
    UPSTASH_REDIS_REST_URL: backends.upstashUrl,
    UPSTASH_REDIS_REST_TOKEN: backends.upstashToken,
    JWT_SECRET: randomBytes(32).toString("base64url"),
    MASTER_KEY: randomBytes(32).toString("base64"),
  };
}

export interface WorkerStack {
  backends: Backends;
  worker: WorkerServer;
  stop(): Promise<void>;
}

export async function startWorkerStack(opts: {
  name: string;
  adminEmail: string;
  adminPassword: string;
  /** Run the provisioner (on the fake Kubernetes API); otherwise PROVISIONER_URL points at a closed port. */
  provisioner?: boolean;
}): Promise<WorkerStack> {
  const runId = randomBytes(4).toString("hex");
  const stops: Array<() => Promise<void>> = [];
  const stop = async () => {
    for (const step of stops.reverse()) await step().catch(() => {});
  };
  try {
    const backends = await startBackends({
      dataDir: join(tmpdir(), `tenantry-${opts.name}-${process.pid}-${runId}`),
      persistent: false,
      database: `tenantry_${opts.name}_${runId}`,
      dropOnStop: Boolean(process.env.DATABASE_URL),
      adminEmail: opts.adminEmail,
      adminPassword: opts.adminPassword,
    });
    stops.push(backends.stop);
    const provisionerSecret = randomBytes(32).toString("base64url");
    let provisionerUrl = "http://127.0.0.1:1";
    if (opts.provisioner) {
      const kube = await startFakeKubeApi();
      stops.push(kube.stop);
      const provisioner = await startProvisioner({
        port: 0,
        secret: provisionerSecret,
        server: kube.url,
        log: () => {},
      });
      stops.push(provisioner.stop);
      provisionerUrl = provisioner.url;
    }
    const worker = await startWorkerServer({
      bindings: {
        ...backendBindings(backends),
        PROVISIONER_SECRET: provisionerSecret,
        PROVISIONER_URL: provisionerUrl,
        LOG_LEVEL: "warn",
      },
    });
    stops.push(worker.stop);
    return { backends, worker, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
