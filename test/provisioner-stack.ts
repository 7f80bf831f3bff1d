/**
 * The provisioning side of the Worker tests, started by the global setup: the strict fake
 * Kubernetes API, a real provisioner applying to it, a second provisioner in dry-run mode
 * (for what the Worker does with a `dry_run` answer), and a small loopback-only control
 * endpoint through which tests (running inside workerd, where the fake's objects are out of
 * reach) read what reached the fake and steer it. Test-only; never part of the product.
 *
 * Faults and reads are per namespace, so test files running at the same time cannot
 * disturb each other's tenants.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { closeServer, HttpError, listen, readJsonBody, sendJson } from "../dev/http-server";
import type { DatabasesOptions } from "../provisioner/src/databases/configure";
import { startProvisioner } from "../provisioner/src/server";
import { startFakeKubeApi } from "../provisioner/test/support/fake-kube-api";

export interface ProvisionerStack {
  provisionerUrl: string;
  controlUrl: string;
  stop(): Promise<void>;
}

/** `databases`: the real provisioner's dedicated databases (DATABASE_PROVIDER=local on the run's Postgres). */
export async function startProvisionerStack(
  secret: string,
  databases?: DatabasesOptions,
): Promise<ProvisionerStack> {
  const kube = await startFakeKubeApi();
  const jobLog: Record<string, unknown>[] = [];
  const provisioner = await startProvisioner({
    port: 0,
    secret,
    server: kube.url,
    timeoutMs: 2_000,
    databases,
    log: (line) => jobLog.push(line),
  });
  // Given the fake's URL too, so any Kubernetes request it made would show in the fake's log.
  const dryRun = await startProvisioner({
    port: 0,
    secret,
    server: kube.url,
    dryRun: true,
    log: (line) => jobLog.push({ ...line, dry_run_provisioner: true }),
  });
  /** Namespaces with an active injected fault; clearing one disarms its fault. */
  const faulty = new Set<string>();

  const touches = (path: string, ns: string) =>
    path === `/api/v1/namespaces/${ns}` || path.includes(`/namespaces/${ns}/`);

  function route(method: string, url: URL, body: unknown): unknown {
    if (method === "GET" && url.pathname === "/dry-run-provisioner") return { url: dryRun.url };
    if (method === "GET" && url.pathname === "/jobs") {
      const jobId = url.searchParams.get("job_id");
      return jobLog.filter((line) => line.job_id === jobId);
    }
    const match = /^\/namespaces\/([a-z0-9-]+)\/(requests|objects|faults|finish-termination)$/.exec(
      url.pathname,
    );
    if (!match) throw new HttpError(404, `no control route ${method} ${url.pathname}`);
    const [, ns = "", what] = match;
    switch (`${method} ${what}`) {
      case "GET requests":
        return kube.requests.filter((r) => touches(r.path, ns));
      case "GET objects":
        return [...kube.objects.values()].filter(
          (o) => o.metadata.namespace === ns || (o.kind === "Namespace" && o.metadata.name === ns),
        );
      case "POST faults": {
        const { status, hang, times } = (body ?? {}) as { status?: number; hang?: boolean; times?: number };
        faulty.add(ns);
        kube.inject({ match: (_m, path) => faulty.has(ns) && touches(path, ns), status, hang, times });
        return { ok: true };
      }
      case "DELETE faults":
        faulty.delete(ns);
        return { ok: true };
      case "POST finish-termination":
        kube.finishTermination(ns);
        return { ok: true };
      default:
        throw new HttpError(405, `${method} is not allowed on ${url.pathname}`);
    }
  }

  const control = createServer((req: IncomingMessage, res: ServerResponse) => {
    // A provisioner that accepts the connection and never answers (the ping's timeout).
    if (req.url?.startsWith("/hang/")) return;
    void (async () => {
      try {
        const url = new URL(req.url ?? "/", "http://control");
        const body = req.method === "POST" ? await readJsonBody(req).catch(() => undefined) : undefined;
        sendJson(res, 200, route(req.method ?? "GET", url, body));
      } catch (err) {
        sendJson(res, err instanceof HttpError ? err.status : 500, { error: String(err) });
      }
    })();
  });
  const port = await listen(control);

  return {
    provisionerUrl: provisioner.url,
    controlUrl: `http://127.0.0.1:${port}`,
    stop: async () => {
      await closeServer(control);
      await dryRun.stop();
      await provisioner.stop();
      await kube.stop();
    },
  };
}
