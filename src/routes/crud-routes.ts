/**
 * Route definitions shared by the tenant-owned resources (clusters, plugins, credentials):
 * one spec gives the collection and item routes with their access, feature flag, schemas
 * and problem responses, so the resources cannot drift apart in shape or in the route table.
 */
import { z } from "@hono/zod-openapi";
import type { Role } from "../db/schema";
import { jsonContent, jsonRequest } from "../lib/openapi";
import { PageQuery, pageOf } from "../lib/pagination";
import type { Feature } from "../services/tenancy/plans";
import { defineRoute } from "./route-table";
import { IdParam, tenantSecurity } from "./schemas";

/**
 * Free text for names and the like: trimmed, non-empty, bounded, no control characters. A
 * refinement rather than `.regex`: the generator would print the `u` flag into the OpenAPI
 * `pattern`, which then matches nothing.
 */
export const boundedText = (max: number) =>
  z
    .string()
    .trim()
    .min(1)
    .max(max)
    .refine((text) => !/\p{Cc}/u.test(text), { message: "Must not contain control characters" });

/** A resource's name: 1–100 characters, unique in the tenant. */
export const ResourceName = boundedText(100);

/** The common fields every resource answers with, around its own. */
function resourceSchema<F extends z.ZodRawShape>(name: string, fields: F) {
  return z
    .object({
      id: z.uuid(),
      name: z.string(),
      ...fields,
      created_at: z.iso.datetime(),
    })
    .openapi(name);
}

interface CrudSpec<C extends Feature, Answer extends z.ZodRawShape, Fields extends z.ZodRawShape> {
  /** The collection: its path under `/api/v1`, its OpenAPI tag and the plan feature it needs. */
  collection: C;
  /** The singular in operation ids and schema names: `Cluster`. */
  singular: string;
  /** The lowest role that may read; writing always takes a member. */
  reader: Role;
  /** The resource's own fields in responses (id, name and timestamps are added). */
  answer: Answer;
  /** The resource's own fields in a create body (`name` is added; nothing else is accepted). */
  fields: Fields;
}

/** List, create, get and delete, and the schemas they answer and accept. */
export function crudRoutes<C extends Feature, Answer extends z.ZodRawShape, Fields extends z.ZodRawShape>(
  spec: CrudSpec<C, Answer, Fields>,
) {
  const schemas = { item: resourceSchema(spec.singular, spec.answer), create: createBody(spec) };
  return { ...collectionRoutes(spec, schemas), schemas };
}

/** The same plus PATCH, for resources whose fields can all be changed; they also answer `updated_at`. */
export function updatableRoutes<
  C extends Feature,
  Answer extends z.ZodRawShape,
  Fields extends z.ZodRawShape,
>(spec: CrudSpec<C, Answer, Fields>) {
  const { path, singular, noun, write, common } = shared(spec);
  const item = resourceSchema(singular, { ...spec.answer, updated_at: z.iso.datetime() });
  const create = createBody(spec);
  const update = create
    .partial()
    .refine((body) => Object.keys(body).length > 0, { message: "Give at least one field to change" })
    .openapi(`Update${singular}`);
  return {
    ...collectionRoutes(spec, { item, create }),
    patch: defineRoute({
      ...common,
      access: write,
      method: "patch",
      path: `${path}/{id}` as const,
      operationId: `update${singular}`,
      summary: `Change some of a ${noun}'s fields`,
      request: {
        params: IdParam,
        body: jsonRequest(update),
      },
      // Its name is unique in the tenant.
      problems: ["not_found", "conflict"],
      responses: { 200: jsonContent(item, `The updated ${noun}`) },
    }),
    schemas: { item, create, update },
  };
}

function createBody<Fields extends z.ZodRawShape>(spec: { singular: string; fields: Fields }) {
  return z
    .object({ name: ResourceName, ...spec.fields })
    .strict()
    .openapi(`Create${spec.singular}`);
}

function collectionRoutes<C extends Feature, Item extends z.ZodType, Create extends z.ZodType>(
  spec: CrudSpec<C, z.ZodRawShape, z.ZodRawShape>,
  schemas: { item: Item; create: Create },
) {
  const { path, plural, singular, noun, read, write, common } = shared(spec);
  const { item } = schemas;
  const one = { ...common, path: `${path}/{id}` as const, request: { params: IdParam } };
  return {
    list: defineRoute({
      ...common,
      access: read,
      method: "get",
      path,
      operationId: `list${plural}`,
      summary: `List the tenant's ${spec.collection}`,
      request: { query: PageQuery },
      responses: { 200: jsonContent(pageOf(item, `${singular}Page`), `A page of ${spec.collection}`) },
    }),
    create: defineRoute({
      ...common,
      access: write,
      method: "post",
      path,
      operationId: `create${singular}`,
      summary: `Create a ${noun} (its name is unique in the tenant)`,
      request: { body: jsonRequest(schemas.create) },
      problems: ["conflict", "quota_exceeded"],
      responses: { 201: jsonContent(item, "Created") },
    }),
    getOne: defineRoute({
      ...one,
      access: read,
      method: "get",
      operationId: `get${singular}`,
      summary: `Get one ${noun}`,
      problems: ["not_found"],
      responses: { 200: jsonContent(item, `The ${noun}`) },
    }),
    remove: defineRoute({
      ...one,
      access: write,
      method: "delete",
      operationId: `delete${singular}`,
      summary: `Delete a ${noun}`,
      problems: ["not_found"],
      responses: { 204: { description: "Deleted" } },
    }),
  };
}

/** What a spec says for every one of its routes. */
function shared<C extends Feature>(spec: { collection: C; singular: string; reader: Role }) {
  return {
    path: `/api/v1/${spec.collection}` as const,
    singular: spec.singular,
    plural: spec.collection.charAt(0).toUpperCase() + spec.collection.slice(1),
    noun: spec.singular.toLowerCase(),
    read: { kind: "tenant", role: spec.reader } as const,
    write: { kind: "tenant", role: "member" } as const,
    common: { feature: spec.collection, tags: [spec.collection], security: tenantSecurity },
  };
}
