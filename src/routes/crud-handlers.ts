/**
 * The handlers shared by the tenant-owned resources: each hands its service the resolved
 * tenant and what a write needs to know about the request, and answers in the shape docs/api.md gives
 * (bare object, 201 on create, 204 on delete, `{data, next_cursor}` for lists).
 *
 * Routes are mounted through their common `RouteConfig` view, which the generic handlers can
 * be typed against; each resource ties its service's types to its own schemas instead.
 */
import type { RouteConfig, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { PageQuery } from "../lib/pagination";
import { createRouter } from "../lib/router";
import type { TenantAccess } from "../middleware/pipeline/access";
import type { TenantScoped } from "../middleware/pipeline/env";
import type { Pipeline } from "../middleware/pipeline/pipeline";
import type { TenantResourceService } from "../services/resources/tenant-resources";
import { writeContextOf } from "./request-context";

/** A handler that reads validated input of the given targets. */
type CrudHandler<Valid extends object> = (
  c: Context<TenantScoped, string, { in: object; out: Valid }>,
) => Promise<Response>;

type Id = { param: { id: string } };

export interface CrudHandlers<Create extends object, Update extends object> {
  list: CrudHandler<{ query: PageQuery }>;
  create: CrudHandler<{ json: Create }>;
  getOne: CrudHandler<Id>;
  remove: CrudHandler<Id>;
  patch?: CrudHandler<Id & { json: Update }>;
}

/** A route of a tenant's resource: its pipeline resolves the tenant. */
type TenantRoute = Omit<RouteConfig, "middleware"> & { middleware: Pipeline<TenantAccess, undefined> };

export interface CrudRouteSet {
  list: TenantRoute;
  create: TenantRoute;
  getOne: TenantRoute;
  remove: TenantRoute;
  patch?: TenantRoute;
}

/**
 * The handlers over a service. The route schemas are the source of truth for the types: the
 * service must answer what `schemas.item` describes and accept what the bodies validate.
 */
export function crudHandlers<Item, Create extends object, Update extends object = never>(
  _schemas: { item: z.ZodType<Item>; create: z.ZodType<Create>; update?: z.ZodType<Update> },
  service: TenantResourceService<NoInfer<Item>, NoInfer<Create>, NoInfer<Update>>,
): CrudHandlers<Create, Update> {
  const { update } = service;
  return {
    list: async (c) => c.json(await service.list(c.var.data, c.var.tenant.id, c.req.valid("query")), 200),
    create: async (c) => c.json(await service.create(writeContextOf(c), c.req.valid("json")), 201),
    getOne: async (c) => c.json(await service.get(c.var.data, c.var.tenant.id, c.req.valid("param").id), 200),
    remove: async (c) => {
      await service.remove(writeContextOf(c), c.req.valid("param").id);
      return c.body(null, 204);
    },
    patch: update
      ? async (c) =>
          c.json(await update(writeContextOf(c), c.req.valid("param").id, c.req.valid("json")), 200)
      : undefined,
  };
}

export function crudRouter<Create extends object, Update extends object>(
  routes: CrudRouteSet,
  handlers: CrudHandlers<Create, Update>,
) {
  const router = createRouter()
    .openapi(routes.list, handlers.list)
    .openapi(routes.create, handlers.create)
    .openapi(routes.getOne, handlers.getOne)
    .openapi(routes.remove, handlers.remove);
  if (routes.patch) {
    if (!handlers.patch) throw new Error(`${routes.patch.path} has a PATCH route but no update`);
    router.openapi(routes.patch, handlers.patch);
  }
  return router;
}
