import { createMiddleware } from "hono/factory";
import { routePath } from "hono/route";
import type { AppBindings } from "../env";
import { log } from "../lib/log";

/** One line per request with the route pattern (not the raw path) to keep it low-cardinality. */
export const accessLog = () =>
  createMiddleware<AppBindings>(async (c, next) => {
    const started = performance.now();
    await next();
    log(c.res.status >= 500 ? "error" : "info", "request", {
      request_id: c.get("requestId"),
      tenant_id: null,
      method: c.req.method,
      route: routePath(c, -1),
      status: c.res.status,
      duration_ms: Math.round((performance.now() - started) * 100) / 100,
    });
  });
