/**
 * The route table: every API route is declared here through `defineRoute`, with its access
 * scope next to its OpenAPI definition. The RBAC middleware, the 405 handler and the
 * role-matrix tests all read this one list, so a new route cannot skip any of them.
 */
import { createRoute, type RouteConfig } from "@hono/zod-openapi";
import type { Role } from "../db/schema";
import { guard } from "../middleware/guard";
import { idempotent } from "../middleware/idempotency";
import { FEATURES, type Feature } from "../services/plans";

/** Who may call a route: nobody in particular, any signed-in caller, a system admin, or a tenant role. */
export type Access =
  | { kind: "public" }
  | {
      /** Any caller with a credential: a user's token or an API key. */
      kind: "authenticated";
      /** Also accepts a temporary password's token (which every other route refuses). */
      passwordChangeExempt?: boolean;
    }
  | {
      /** A signed-in user acting on their own account (an API key has none: 403). */
      kind: "user";
      passwordChangeExempt?: boolean;
    }
  | {
      kind: "system";
      /** Also admits `Authorization: Bearer <METRICS_TOKEN>` (for Prometheus scrapers). */
      metricsToken?: boolean;
    }
  | {
      kind: "tenant";
      role: Role;
      /** The path parameter that names the tenant (`/tenants/{id}/…`), if not the selector. */
      tenantParam?: string;
      /** A system admin may use this write route on a suspended tenant. */
      allowSuspended?: boolean;
      /** A system admin also sees soft-deleted tenants here (to inspect before restore). */
      systemSeesDeleted?: boolean;
      /** A query parameter that selects the tenant (system admins' `?tenant=`). */
      tenantQuery?: string;
      /**
       * A read that writes an audit record: rate-limited before it runs, like a write (other
       * reads run their query while the limiter answers).
       */
      audited?: boolean;
    };

export interface RouteEntry {
  method: string;
  /** OpenAPI template, e.g. `/api/v1/tenants/{id}`. */
  path: string;
  access: Access;
  /** The plan feature the tenant must have enabled (403 `feature_disabled` otherwise). */
  feature?: Feature;
  pattern: RegExp;
}

const entries: RouteEntry[] = [];

export const ROUTE_TABLE: readonly RouteEntry[] = entries;

export function defineRoute<P extends string, R extends Omit<RouteConfig, "path"> & { path: P }>(
  config: R & { access: Access; feature?: string },
) {
  const { access, feature: declared, ...route } = config;
  const feature = declared === undefined ? undefined : asFeature(declared);
  entries.push({
    method: route.method.toUpperCase(),
    path: route.path,
    access,
    feature,
    pattern: templateToRegExp(route.path),
  });
  // Every POST that creates (answers 201) honours Idempotency-Key, after the access check.
  const creates = route.method === "post" && 201 in (route.responses ?? {});
  const middleware = creates ? [guard(access, feature), idempotent()] : [guard(access, feature)];
  return createRoute({ ...route, middleware } as unknown as R);
}

/** A route naming a feature that does not exist is a programming error: fail at startup. */
function asFeature(name: string): Feature {
  if (!(FEATURES as readonly string[]).includes(name))
    throw new Error(`unknown feature "${name}" in the route table`);
  return name as Feature;
}

/** The methods declared for a concrete path, for 405 responses' `Allow` header. */
export function allowedMethods(path: string): string[] {
  const methods = new Set<string>();
  for (const entry of entries) if (entry.pattern.test(path)) methods.add(entry.method);
  return [...methods].sort();
}

function templateToRegExp(template: string): RegExp {
  const escaped = template
    .split(/\{[^}]+\}/)
    .map((part) => part.replace(/[.*+?^$()|[\]\\]/g, "\\$&"))
    .join("[^/]+");
  return new RegExp(`^${escaped}/?$`);
}
