/**
 * The route table: every API route is declared here through `defineRoute`, with its access
 * scope next to its OpenAPI definition. The RBAC middleware, the 405 handler, the error
 * responses of the OpenAPI document and the role-matrix tests all read this one list, so a
 * new route cannot skip any of them.
 */
import { createRoute, type RouteConfig } from "@hono/zod-openapi";
import type { Role } from "../db/schema";
import { problemResponses } from "../lib/openapi";
import type { ProblemCode } from "../lib/problem";
import { guard } from "../middleware/guard";
import { idempotent } from "../middleware/idempotency";
import { FEATURES, type Feature } from "../services/plans";
import { impliedProblems } from "./route-problems";

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
  /** A POST that creates (answers 201): it honours `Idempotency-Key`. */
  idempotent: boolean;
  pattern: RegExp;
}

/** What `defineRoute` takes besides the OpenAPI route itself. */
interface RouteDeclaration {
  access: Access;
  feature?: string;
  /**
   * The problems of this route's own logic (`not_found`, `last_admin`, …). Those that come
   * from what the route is (access, body, idempotency, backends) are added by `defineRoute`.
   */
  problems?: ProblemCode[];
  /** `false` for a route that reaches no backend, so it cannot answer 503. */
  backend?: false;
}

const entries: RouteEntry[] = [];

export const ROUTE_TABLE: readonly RouteEntry[] = entries;

export function defineRoute<P extends string, R extends Omit<RouteConfig, "path"> & { path: P }>(
  config: R & RouteDeclaration,
) {
  const { access, feature: declared, problems = [], backend, ...route } = config;
  const feature = declared === undefined ? undefined : asFeature(declared);
  // Every POST that creates (answers 201) honours Idempotency-Key, after the access check.
  const creates = route.method === "post" && 201 in (route.responses ?? {});
  const method = route.method.toUpperCase();
  entries.push({
    method,
    path: route.path,
    access,
    feature,
    idempotent: creates,
    pattern: templateToRegExp(route.path),
  });
  const implied = impliedProblems({
    method,
    path: route.path,
    access,
    feature: feature !== undefined,
    validatesInput: Boolean(route.request?.params || route.request?.query || route.request?.body),
    idempotent: creates,
    backend: backend !== false,
  });
  const middleware = creates ? [guard(access, feature), idempotent()] : [guard(access, feature)];
  return createRoute({
    ...route,
    // Anyone may call a public route: it says so rather than inheriting a requirement.
    security: route.security ?? (access.kind === "public" ? [] : undefined),
    // A response the route declares itself (`/health`'s own 503 body) wins over a problem.
    responses: { ...problemResponses([...implied, ...problems]), ...route.responses },
    middleware,
  } as unknown as R);
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

/** An OpenAPI path template as a RegExp: a parameter is one segment, a trailing slash is allowed. */
export function templateToRegExp(template: string): RegExp {
  const escaped = template
    .split(/\{[^}]+\}/)
    .map((part) => part.replace(/[.*+?^$()|[\]\\]/g, "\\$&"))
    .join("[^/]+");
  return new RegExp(`^${escaped}/?$`);
}
