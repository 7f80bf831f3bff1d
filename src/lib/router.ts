import { OpenAPIHono, type RouteConfig, type RouteConfigToEnv, type RouteHandler } from "@hono/zod-openapi";
import type { AppBindings } from "../request-env";
import { Problem } from "./problem";
import { routingPath } from "./tenant-path";

/**
 * Every router validates with the same hook, so a zod failure is always 400
 * `validation_failed`. Routing ignores a trailing slash and a `/t/{tenant}` prefix (only the
 * top-level app's router matches, but every router is built the same way).
 */
export function createRouter() {
  return new OpenAPIHono<AppBindings>({
    getPath: routingPath,
    defaultHook: (result) => {
      if (!result.success) {
        throw new Problem("validation_failed", "The request is not valid.", {
          extensions: {
            errors: result.error.issues.map((issue) => ({
              path: issue.path.join("."),
              message: issue.message,
              code: issue.code,
            })),
          },
        });
      }
    },
  });
}

/**
 * A handler of a route from the route table: its environment is what the route's pipeline
 * establishes (`c.var.tenant` on a tenant route, `c.var.user` on a user route, …).
 */
export type Handler<R extends RouteConfig> = RouteHandler<R, AppBindings & RouteConfigToEnv<R>>;
