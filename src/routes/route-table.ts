/**
 * The route table: every API route is declared here through `defineRoute`, with its access
 * scope next to its OpenAPI definition. The route's middleware (authentication, tenant,
 * role, feature and limits), the 405 handler, the error responses of the OpenAPI document
 * and the role-matrix tests all come from this one declaration, so a new route cannot skip
 * any of them.
 */
import { createRoute, type RouteConfig } from "@hono/zod-openapi";
import { problemResponses } from "../lib/openapi";
import type { ProblemCode } from "../lib/problem";
import type { Access, PublicLimits } from "../middleware/pipeline/access";
import { type Pipeline, pipelineFor } from "../middleware/pipeline/pipeline";
import { FEATURES, type Feature } from "../services/tenancy/plans";
import { impliedProblems } from "./route-problems";

export type { Access };

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
  /** Limits besides a tenant's hourly budget (which every tenant route has). */
  limits?: PublicLimits;
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

const ROOT_ONLY = [{ url: "/" }];

export const ROUTE_TABLE: readonly RouteEntry[] = entries;

type RouteSpec = Omit<RouteConfig, "path" | "middleware"> & { path: string } & RouteDeclaration;

/** The route as @hono/zod-openapi sees it: its middleware typed by its declared access and limits. */
export type DefinedRoute<R, A extends Access, L extends PublicLimits | undefined> = Omit<
  R,
  keyof RouteDeclaration
> & { middleware: Pipeline<A, L> };

export function defineRoute<
  P extends string,
  R extends Omit<RouteConfig, "path" | "middleware"> & { path: P },
  A extends Access,
  L extends PublicLimits | undefined = undefined,
>(config: R & RouteDeclaration & { access: A; limits?: L }): DefinedRoute<R, A, L>;
export function defineRoute(config: RouteSpec): unknown {
  const { access, limits, feature: declared, problems = [], backend, ...route } = config;
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
    limits: limits !== undefined,
    feature: feature !== undefined,
    validatesInput: Boolean(route.request?.params || route.request?.query || route.request?.body),
    idempotent: creates,
    backend: backend !== false,
  });
  return createRoute({
    ...route,
    // Anyone may call a public route: it says so rather than inheriting a requirement.
    security: route.security ?? (access.kind === "public" ? [] : undefined),
    // Only tenant routes are reachable under the document's second server, `/t/{tenant}`.
    servers: route.servers ?? (access.kind === "tenant" ? undefined : ROOT_ONLY),
    // A response the route declares itself (`/health`'s own 503 body) wins over a problem.
    responses: { ...problemResponses([...implied, ...problems]), ...route.responses },
    middleware: pipelineFor({ access, feature, limits, creates }),
  });
}

/** A route naming a feature that does not exist is a programming error: fail at startup. */
function asFeature(name: string): Feature {
  if (!(FEATURES as readonly string[]).includes(name))
    throw new Error(`unknown feature "${name}" in the route table`);
  return name as Feature;
}

/** The route a request reaches, if any. */
export function routeEntryFor(method: string, path: string): RouteEntry | undefined {
  const wanted = method === "HEAD" ? "GET" : method;
  return entries.find((entry) => entry.method === wanted && entry.pattern.test(path));
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
