/**
 * After every request: one JSON log line, and the request's metrics added to the isolate's
 * batch, which is written to Redis after the response (`waitUntil`). Both use the route pattern, never the raw path,
 * and carry only ids — no credentials, bodies or headers.
 */
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { routePath } from "hono/route";
import { afterResponse } from "../lib/after-response";
import { log } from "../lib/log";
import { Problem } from "../lib/problem";
import type { AppBindings, RequestRecord } from "../request-env";
import { recordRequest } from "../services/platform/metrics";

const UNMATCHED = "unmatched";

export const accessLog = () =>
  createMiddleware<AppBindings>(async (c, next) => {
    const started = performance.now();
    const record: RequestRecord = { tenantId: null, tenantHasWebhooks: false, actor: null, rateLimits: [] };
    c.set("record", record);
    await next();
    const durationMs = Math.round((performance.now() - started) * 100) / 100;
    const route = routeOf(c);
    const { tenantId, actor, rateLimits: limits } = record;
    const problem = c.error instanceof Problem ? c.error : undefined;
    log(c.res.status >= 500 ? "error" : "info", "request", {
      request_id: c.get("requestId"),
      tenant_id: tenantId,
      actor,
      route,
      status: c.res.status,
      ...(problem ? { code: problem.code } : {}),
      duration_ms: durationMs,
      rate_limit_remaining: limits.length > 0 ? Math.min(...limits.map((l) => l.remaining)) : null,
    });
    const config = c.get("config");
    if (config) {
      const flush = recordRequest(config, {
        tenantId,
        route,
        status: c.res.status,
        durationMs,
        rateLimited: problem?.code === "rate_limited",
        quotaDenied: problem?.code === "quota_exceeded" ? String(problem.extensions.quota) : null,
      });
      if (flush) afterResponse(c, () => flush);
    }
  });

function routeOf(c: Context<AppBindings>): string {
  const pattern = routePath(c, -1);
  return pattern === "/*" || pattern === "*" ? UNMATCHED : `${c.req.method} ${pattern}`;
}
