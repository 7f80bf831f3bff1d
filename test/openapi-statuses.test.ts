import { beforeAll, describe, expect, it } from "vitest";
import "../src/app";
import { readsJsonBody } from "../src/middleware/json-body";
import { ROUTE_TABLE, type RouteEntry } from "../src/routes/route-table";
import { api } from "./support/fixtures";

/**
 * The served OpenAPI document against the route table: every operation declares the statuses
 * that what it is (access kind, body, idempotency, backends) lets it answer, every error is
 * the shared problem schema, and security says who may call. The rules are stated here, apart
 * from `defineRoute`, so a route that stops declaring what it can answer fails here.
 */
interface ResponseObject {
  description: string;
  content?: Record<string, { schema?: { $ref?: string } }>;
}

interface Operation {
  security?: Array<Record<string, string[]>>;
  requestBody?: unknown;
  responses: Record<string, ResponseObject>;
}

interface Document {
  info: { license?: { name?: string; identifier?: string; url?: string } };
  paths: Record<string, Record<string, Operation>>;
  components: { securitySchemes: Record<string, unknown> };
}

interface Rule {
  rule: string;
  applies(entry: RouteEntry, op: Operation): boolean;
  statuses: number[];
}

/** Only the liveness probe answers without reaching Postgres or Redis. */
const BACKEND_FREE = new Set(["GET /health/live"]);

const RULES: Rule[] = [
  { rule: "every route declares 500", applies: () => true, statuses: [500] },
  {
    rule: "every route that reaches a backend declares 503",
    applies: (e) => !BACKEND_FREE.has(`${e.method} ${e.path}`),
    statuses: [503],
  },
  {
    rule: "every authenticated route declares 401, and 429 for the per-address limit on bad credentials",
    applies: (e) => e.access.kind !== "public",
    statuses: [401, 429],
  },
  {
    rule: "every tenant, system and user route declares 403",
    applies: (e) => ["tenant", "system", "user"].includes(e.access.kind),
    statuses: [403],
  },
  {
    rule: "every tenant-scoped route declares 400 (selectors), 403, 404 (tenant_not_found), 429 and 503",
    applies: (e) => e.access.kind === "tenant",
    statuses: [400, 403, 404, 429, 503],
  },
  {
    rule: "every route whose body is read declares 400, 413 and 415",
    applies: (e, op) => op.requestBody !== undefined || readsJsonBody(e.method, e.path),
    statuses: [400, 413, 415],
  },
  {
    rule: "every idempotent create declares 409 (key in flight) and 422 (key reused)",
    applies: (e) => e.idempotent,
    statuses: [409, 422],
  },
];

/** Statuses of a route's own logic, declared by hand next to it: they must stay declared. */
const OWN_STATUSES: Array<[string, number[]]> = [
  ["POST /api/v1/auth/login", [401, 403, 429]],
  ["POST /api/v1/invitations/accept", [401, 409, 410, 429]],
  ["PATCH /api/v1/members/{userId}", [404, 409]],
  ["DELETE /api/v1/members/{userId}", [404, 409]],
  ["DELETE /api/v1/tenants/{id}", [404, 409]],
  ["PATCH /api/v1/tenants/{id}", [409]],
  ["POST /api/v1/clusters", [409, 429]],
  ["GET /api/v1/credentials/{id}", [404]],
];

describe("OpenAPI statuses, derived from the route table", () => {
  let doc: Document;
  const operationOf = (entry: RouteEntry): Operation => {
    const op = doc.paths[entry.path]?.[entry.method.toLowerCase()];
    if (!op) throw new Error(`${entry.method} ${entry.path} is not in the document`);
    return op;
  };

  beforeAll(async () => {
    const res = await api("/openapi.json");
    expect(res.status).toBe(200);
    doc = (await res.json()) as Document;
  });

  it.each(RULES)("$rule", ({ applies, statuses }) => {
    const missing: string[] = [];
    let checked = 0;
    for (const entry of ROUTE_TABLE) {
      const op = operationOf(entry);
      if (!applies(entry, op)) continue;
      checked += 1;
      for (const status of statuses)
        if (!(String(status) in op.responses)) missing.push(`${entry.method} ${entry.path}: ${status}`);
    }
    expect(checked).toBeGreaterThan(0);
    expect(missing).toEqual([]);
  });

  it.each(OWN_STATUSES)("%s keeps its own statuses %j", (route, statuses) => {
    const [method = "", path = ""] = route.split(" ");
    const op = doc.paths[path]?.[method.toLowerCase()];
    expect(Object.keys(op?.responses ?? {})).toEqual(expect.arrayContaining(statuses.map(String)));
  });

  it("every error response is problem+json with the shared Problem schema (only /health's 503 is its own)", () => {
    const wrong: string[] = [];
    for (const [path, operations] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(operations)) {
        for (const [status, response] of Object.entries(op.responses)) {
          if (Number(status) < 400 || (path === "/health" && status === "503")) continue;
          const types = Object.keys(response.content ?? {});
          const ref = response.content?.["application/problem+json"]?.schema?.$ref;
          if (types.join() !== "application/problem+json" || ref !== "#/components/schemas/Problem")
            wrong.push(`${method.toUpperCase()} ${path} ${status}: ${types.join()} ${ref}`);
          if (!response.description.includes("`")) wrong.push(`${method} ${path} ${status}: names no code`);
        }
      }
    }
    expect(wrong).toEqual([]);
  });

  it("public routes declare that they need no credential; every other route names its schemes", () => {
    const wrong: string[] = [];
    for (const entry of ROUTE_TABLE) {
      const { security } = operationOf(entry);
      const label = `${entry.method} ${entry.path}: ${JSON.stringify(security)}`;
      if (entry.access.kind === "public") {
        // `[]`, or `[{}, …]` where a credential is optional (invitation accept).
        if (!security || !(security.length === 0 || security.some((r) => Object.keys(r).length === 0)))
          wrong.push(label);
      } else if (
        !security?.length ||
        security.some((r) => Object.keys(r).length === 0) ||
        security.some((r) => Object.keys(r).some((scheme) => !(scheme in doc.components.securitySchemes)))
      ) {
        wrong.push(label);
      }
    }
    expect(wrong).toEqual([]);
  });

  it("the document names its licence", () => {
    expect(doc.info.license?.name).toBeTruthy();
    expect(doc.info.license?.identifier ?? doc.info.license?.url).toBeTruthy();
  });
});
