/**
 * The Worker's own OpenAPI document as a test oracle: every operation with its parameters
 * and JSON body schema, and a valid example for any schema. The attack and fuzz suites walk
 * these, so a new route or field is attacked the moment it is documented.
 */
import { expect } from "vitest";
import { uniqueSlug } from "./db";
import { api } from "./fixtures";
import { receiverUrl, uniqueHookName } from "./webhook-receiver";

export interface JsonSchema {
  type?: string;
  format?: string;
  pattern?: string;
  enum?: unknown[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  $ref?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  items?: JsonSchema;
  minItems?: number;
  example?: unknown;
}

export interface Parameter {
  name: string;
  in: "path" | "query" | "header";
  required?: boolean;
  schema: JsonSchema;
}

export interface Operation {
  method: string;
  /** OpenAPI template, `/api/v1/clusters/{id}`. */
  path: string;
  params: Parameter[];
  /** The JSON body's schema, resolved; absent for routes without a body. */
  body?: JsonSchema;
}

interface Document {
  paths: Record<
    string,
    Record<
      string,
      { parameters?: Parameter[]; requestBody?: { content: Record<string, { schema: JsonSchema }> } }
    >
  >;
  components: { schemas: Record<string, JsonSchema> };
}

export interface Api {
  operations: Operation[];
  resolve(schema: JsonSchema): JsonSchema;
}

export async function loadApi(): Promise<Api> {
  const res = await api("/openapi.json");
  expect(res.status).toBe(200);
  const doc = (await res.json()) as Document;
  const resolve = (schema: JsonSchema): JsonSchema => {
    if (!schema.$ref) return schema;
    const target = doc.components.schemas[schema.$ref.replace("#/components/schemas/", "")];
    if (!target) throw new Error(`unresolved ${schema.$ref}`);
    return resolve(target);
  };
  const operations: Operation[] = [];
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      const body = op.requestBody?.content["application/json"]?.schema;
      operations.push({
        method: method.toUpperCase(),
        path,
        params: op.parameters ?? [],
        body: body ? resolve(body) : undefined,
      });
    }
  }
  return { operations, resolve };
}

/** The string-typed properties of a body (enums and formats included): what injection targets. */
export function stringFields(api: Api, body: JsonSchema): string[] {
  return Object.entries(body.properties ?? {})
    .filter(([, schema]) => api.resolve(schema).type === "string")
    .map(([name]) => name);
}

/** A valid value for `schema`, fresh where uniqueness matters (slugs, emails, names). */
export function exampleOf(api: Api, schema: JsonSchema, field = "value"): unknown {
  const s = api.resolve(schema);
  if (s.enum) return s.enum.includes("viewer") ? "viewer" : s.enum[0];
  switch (s.type) {
    case "string":
      return exampleString(s, field);
    case "integer":
    case "number":
      return s.minimum ?? 1;
    case "boolean":
      return true;
    case "array":
      // The documented example when there is one (webhook events), else enough generated items.
      if (Array.isArray(s.example)) return s.example;
      return Array.from({ length: Math.max(1, s.minItems ?? 0) }, () => exampleOf(api, s.items ?? {}, field));
    case "object": {
      const out: Record<string, unknown> = {};
      for (const name of s.required ?? []) out[name] = exampleOf(api, s.properties?.[name] ?? {}, name);
      return out;
    }
    default:
      throw new Error(`no example for ${JSON.stringify(s)}`);
  }
}

/**
 * A valid body with only the required fields; a PATCH (nothing required) gets its first
 * string field, or its first field when it has no string.
 */
export function exampleBody(api: Api, body: JsonSchema): Record<string, unknown> {
  const out = exampleOf(api, body) as Record<string, unknown>;
  if (Object.keys(out).length > 0) return out;
  const [first = Object.keys(body.properties ?? {})[0]] = stringFields(api, body);
  if (!first) throw new Error(`no field to send in ${JSON.stringify(body)}`);
  return { [first]: exampleOf(api, body.properties?.[first] ?? {}, first) };
}

function exampleString(s: JsonSchema, field: string): string {
  switch (s.format) {
    case "email":
      return `${uniqueSlug("ex")}@example.test`;
    case "date-time":
      return new Date(Date.now() + 86_400_000).toISOString();
    case "uri":
      return "https://k8s.example.com";
    case "uuid":
      return crypto.randomUUID();
  }
  if (s.pattern) {
    const candidate = field === "slug" ? uniqueSlug("ex") : field === "version" ? "1.0.0" : undefined;
    if (candidate === undefined || !new RegExp(s.pattern).test(candidate))
      throw new Error(`no example for ${field} matching ${s.pattern}`);
    return candidate;
  }
  if (field === "password") return `pw-${crypto.randomUUID()}`;
  // A webhook URL: the run's own receiver, so no test ever posts to the Internet.
  if (field === "url") return receiverUrl(uniqueHookName());
  return `${field}-${uniqueSlug()}`.slice(0, s.maxLength ?? 100);
}
