/**
 * The provisioner's HTTP surface: `POST /v1/jobs`, the dedicated databases
 * (`/v1/databases`, databases/routes.ts) and the signed status ping `GET /v1/status` for the
 * Worker, probes for the kubelet and `/metrics` for Prometheus. Every error leaves as
 * problem+json through `onError`.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { jobRequestSchema, type ProvisionerMode } from "@tenantry/contract";
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { type RequestIdVariables, requestId } from "hono/request-id";
import { admitRequest, consume } from "./admission";
import { assertPingToken, assertTokenMatchesJob, bearerToken, TokenError, verifyRequestToken } from "./auth";
import { databaseRoutes } from "./databases/routes";
import type { TenantDatabases } from "./databases/tenant-databases";
import { OwnershipError, runJob } from "./jobs";
import { type KubeClient, KubernetesError, KubernetesTimeoutError, withDeadline } from "./kube";
import type { Logger } from "./log";
import type { ProvisionerMetrics } from "./metrics";
import { Problem } from "./problem";
import type { ReplayCache } from "./replay-cache";

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
  /** The `jti`s already accepted. */
  replayCache: ReplayCache;
  /** When set, `/metrics` requires it as a Bearer token. */
  metricsToken?: string;
  /** This provisioner's package version, reported by the status ping. */
  version: string;
  /** The dedicated databases' provider; undefined with DATABASE_PROVIDER=none. */
  databases?: TenantDatabases;
}

export function createProvisionerApp(deps: ProvisionerAppDeps): Hono<{ Variables: RequestIdVariables }> {
  const { kube, metrics, log, replayCache } = deps;
  const key = new TextEncoder().encode(deps.secret);
  const mode: ProvisionerMode = kube ? "live" : "dry_run";
  const app = new Hono<{ Variables: RequestIdVariables }>();

  /** Runs an authentication step, counting and translating its refusals. */
  const authenticate = async <T>(step: () => Promise<T>): Promise<T> => {
    try {
      return await step();
    } catch (err) {
      const problem = toProblem(err);
      metrics.rejected.inc({ code: problem.code });
      throw problem;
    }
  };

  app.use(requestId({ limitLength: 128 }));

  app.get("/healthz", (c) => c.json({ status: "ok" }));

  app.get("/readyz", async (c) => {
    if (!kube) return c.json({ status: "ready", mode });
    const ready = await kube.ready(Math.min(deps.timeoutMs, READY_PROBE_TIMEOUT_MS));
    return c.json({ status: ready ? "ready" : "unavailable", mode }, ready ? 200 : 503);
  });

  const metricsTokenDigest = deps.metricsToken === undefined ? undefined : digest(deps.metricsToken);
  app.get("/metrics", async (c) => {
    if (metricsTokenDigest) {
      const match = /^Bearer\s+(\S+)\s*$/i.exec(c.req.header("authorization") ?? "");
      // Digests have one length, so timingSafeEqual compares without revealing the token's.
      if (!match?.[1] || !timingSafeEqual(digest(match[1]), metricsTokenDigest)) {
        throw new Problem("unauthenticated", "a Bearer METRICS_TOKEN is required");
      }
    }
    return c.body(await metrics.registry.metrics(), 200, { "content-type": metrics.registry.contentType });
  });

  app.get("/v1/status", async (c) => {
    await authenticate(async () => {
      const claims = await verifyRequestToken(bearerToken(c.req.header("authorization")), key);
      assertPingToken(claims);
      consume(replayCache, claims);
    });
    return c.json({ mode, version: deps.version });
  });

  const limitBody = bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: () => {
      throw new Problem("payload_too_large", `requests are at most ${MAX_BODY_BYTES} bytes`);
    },
  });

  app.post("/v1/jobs", limitBody, async (c) => {
    const req = await authenticate(() =>
      admitRequest({
        authorization: c.req.header("authorization"),
        readBody: () => c.req.arrayBuffer(),
        key,
        replayCache,
        schema: jobRequestSchema,
        noun: "the job request",
        matches: assertTokenMatchesJob,
      }),
    );

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
  });

  app.route(
    "/v1/databases",
    databaseRoutes({ databases: deps.databases, key, replayCache, log, authenticate, limitBody }),
  );

  app.notFound((c) => new Problem("not_found", "no such route").toResponse(c.get("requestId")));

  app.onError((err, c) => {
    const problem = toProblem(err);
    if (problem.code === "internal") log({ level: "error", msg: "unhandled error", error: String(err) });
    return problem.toResponse(c.get("requestId"));
  });

  return app;
}

function digest(text: string): Buffer {
  return createHash("sha256").update(text).digest();
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
