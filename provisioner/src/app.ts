/**
 * The provisioner's HTTP surface: `POST /v1/jobs` for the Worker, probes for the kubelet
 * and `/metrics` for Prometheus. Every error leaves as problem+json through `onError`.
 */
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { type RequestIdVariables, requestId } from "hono/request-id";
import { assertTokenMatchesJob, bearerToken, TokenError, verifyJobToken } from "./auth";
import { type JobRequest, jobRequestSchema } from "./job-request";
import { OwnershipError, runJob } from "./jobs";
import { type KubeClient, KubernetesError, KubernetesTimeoutError, withDeadline } from "./kube";
import type { Logger } from "./log";
import type { ProvisionerMetrics } from "./metrics";
import { Problem } from "./problem";

const MAX_BODY_BYTES = 64 * 1024;
const READY_PROBE_TIMEOUT_MS = 2_000;

export interface ProvisionerAppDeps {
  secret: string;
  /** Absent in dry-run mode. */
  kube: KubeClient | undefined;
  /** Budget for all Kubernetes requests of one job. */
  timeoutMs: number;
  metrics: ProvisionerMetrics;
  log: Logger;
}

export function createProvisionerApp(deps: ProvisionerAppDeps): Hono<{ Variables: RequestIdVariables }> {
  const { kube, metrics, log } = deps;
  const key = new TextEncoder().encode(deps.secret);
  const app = new Hono<{ Variables: RequestIdVariables }>();

  app.use(requestId({ limitLength: 128 }));

  app.get("/healthz", (c) => c.json({ status: "ok" }));

  app.get("/readyz", async (c) => {
    if (!kube) return c.json({ status: "ready", mode: "dry_run" });
    const ready = await kube.ready(Math.min(deps.timeoutMs, READY_PROBE_TIMEOUT_MS));
    return c.json({ status: ready ? "ready" : "unavailable", mode: "kubernetes" }, ready ? 200 : 503);
  });

  app.get("/metrics", async (c) =>
    c.body(await metrics.registry.metrics(), 200, { "content-type": metrics.registry.contentType }),
  );

  app.post(
    "/v1/jobs",
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: () => {
        throw new Problem("payload_too_large", `job requests are at most ${MAX_BODY_BYTES} bytes`);
      },
    }),
    async (c) => {
      let req: JobRequest;
      try {
        req = await admit(c.req.header("authorization"), () => c.req.text(), key);
      } catch (err) {
        const problem = toProblem(err);
        metrics.rejected.inc({ code: problem.code });
        throw problem;
      }

      const started = performance.now();
      const fields = {
        request_id: c.get("requestId"),
        job_id: req.job.id,
        kind: req.job.kind,
        attempt: req.job.attempt,
        tenant_id: req.tenant.id,
      };
      try {
        const result = await withDeadline(deps.timeoutMs, () => runJob(req, { kube, metrics, log }));
        metrics.jobs.inc({ kind: req.job.kind, outcome: result.status });
        log({ level: "info", msg: "job", ...fields, status: result.status, duration_ms: elapsed(started) });
        return c.json(result);
      } catch (err) {
        const problem = toProblem(err);
        metrics.jobs.inc({ kind: req.job.kind, outcome: problem.code });
        const error = err instanceof Error ? err.message : String(err);
        log({
          level: "error",
          msg: "job failed",
          ...fields,
          code: problem.code,
          error,
          duration_ms: elapsed(started),
        });
        throw problem;
      }
    },
  );

  app.notFound((c) => new Problem("not_found", "no such route").toResponse(c.get("requestId")));

  app.onError((err, c) => {
    const problem = toProblem(err);
    if (problem.code === "internal") log({ level: "error", msg: "unhandled error", error: String(err) });
    return problem.toResponse(c.get("requestId"));
  });

  return app;
}

/** Authenticates first, so callers without a valid token learn nothing about the body rules. */
async function admit(
  authorization: string | undefined,
  readBody: () => Promise<string>,
  key: Uint8Array,
): Promise<JobRequest> {
  const claims = await verifyJobToken(bearerToken(authorization), key);
  let body: unknown;
  try {
    body = JSON.parse(await readBody());
  } catch {
    throw new Problem("malformed_json", "the request body is not valid JSON");
  }
  const parsed = jobRequestSchema.safeParse(body);
  if (!parsed.success) {
    const errors = parsed.error.issues.map((issue) => ({
      path: issue.path.join("."),
      message: issue.message,
      code: issue.code,
    }));
    throw new Problem("validation_failed", "the job request is invalid", errors);
  }
  assertTokenMatchesJob(claims, parsed.data.job);
  return parsed.data;
}

function toProblem(err: unknown): Problem {
  if (err instanceof Problem) return err;
  if (err instanceof TokenError) return new Problem(err.code, err.message);
  if (err instanceof KubernetesTimeoutError) return new Problem("kubernetes_timeout", err.message);
  if (err instanceof KubernetesError) return new Problem("kubernetes_error", err.message);
  if (err instanceof OwnershipError) return new Problem("conflict", err.message);
  return new Problem("internal", "the provisioner failed unexpectedly");
}

function elapsed(started: number): number {
  return Math.round(performance.now() - started);
}
