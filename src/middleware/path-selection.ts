import { createMiddleware } from "hono/factory";
import { Problem } from "../lib/problem";
import { pathSelectorOf } from "../lib/tenant-path";
import type { AppBindings } from "../request-env";
import { routeEntryFor } from "../routes/route-table";

/**
 * Under the `/t/{tenant}` prefix only tenant routes exist (`src/lib/tenant-path.ts`): a
 * selector must never be silently ignored by a route that has no tenant.
 */
export const pathSelection = () =>
  createMiddleware<AppBindings>(async (c, next) => {
    if (pathSelectorOf(c) === undefined) return next();
    const entry = routeEntryFor(c.req.method, c.req.path);
    if (entry && entry.access.kind !== "tenant") {
      throw new Problem(
        "not_found",
        `${entry.method} ${entry.path} is not a tenant route: call it without the /t/{tenant} prefix.`,
      );
    }
    await next();
  });
