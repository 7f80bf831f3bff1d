import { afterAll, beforeAll, describe, expect, it } from "vitest";
import "../src/app";
import { ROUTE_TABLE, type RouteEntry } from "../src/routes/route-table";
import { pools } from "./support/db";
import { addMember, api, bearer, createUser, tokenFor } from "./support/fixtures";
import {
  objectIds,
  type PopulatedTenant,
  populateTenant,
  systemAdminHeaders,
} from "./support/populated-tenant";

/**
 * An empty body sent to every POST and PATCH route of the route table, three ways, by a
 * system admin and by a tenant admin, with real path parameters of a populated tenant.
 * API.md: an empty body on a route that requires one is 400 `validation_failed` (whatever
 * its content type), 415 is only for a non-empty non-JSON body, and a route whose body is
 * optional (or that takes none) accepts an empty one. Never a 5xx.
 */
const WAYS: Record<string, { headers: Record<string, string>; body: BodyInit }> = {
  // What an HTTP POST without a body arrives as: an empty stream and no content type.
  "no content type": { headers: {}, body: new Uint8Array(0) },
  "application/json": { headers: { "content-type": "application/json" }, body: "" },
  "text/plain": { headers: { "content-type": "text/plain" }, body: "" },
};

type BodyKind = "required" | "optional" | "none";

const KINDS = await bodyKinds();
const ROUTES = ROUTE_TABLE.filter((entry) => entry.method === "POST" || entry.method === "PATCH").map(
  (entry) => ({ entry, kind: KINDS.get(`${entry.method} ${entry.path}`) ?? "none" }),
);
const COUNTS = (["required", "optional", "none"] as const)
  .map((kind) => `${ROUTES.filter((route) => route.kind === kind).length} ${kind}`)
  .join(", ");
const WAY_COUNT = Object.keys(WAYS).length;
const TITLE = `empty bodies: ${ROUTES.length} POST/PATCH routes (body ${COUNTS}) × 2 callers × ${WAY_COUNT} ways = ${ROUTES.length * 2 * WAY_COUNT} requests`;

describe(TITLE, () => {
  const db = pools();
  let home: PopulatedTenant;

  beforeAll(async () => {
    home = await populateTenant(await systemAdminHeaders(db.admin), "empty");
  });

  afterAll(() => db.end());

  /** A real id of the populated tenant for the `{param}` after `/<collection>/`. */
  function concretePath(entry: RouteEntry): string {
    const ids = objectIds(home);
    return entry.path.replace(/\/([^/{]+)\/\{[^}]+\}/g, (_, collection: string) => {
      const id = ids[collection];
      if (!id) throw new Error(`no real id for /${collection}/{…} in ${entry.path}`);
      return `/${collection}/${id}`;
    });
  }

  /**
   * Fresh callers for every route, because `/auth/logout-all` ends the caller's sessions.
   * A system admin passes every access check; a tenant admin all but the system scope.
   */
  async function callers(entry: RouteEntry) {
    const admin = await createUser(db.admin);
    await addMember(db.admin, home.tenant, admin, "admin");
    return [
      {
        name: "system admin",
        headers: { ...(await systemAdminHeaders(db.admin)), "x-tenant-id": home.tenant.id },
        allowed: true,
      },
      {
        name: "tenant admin",
        headers: bearer(await tokenFor(admin, home.tenant)),
        allowed: entry.access.kind !== "system",
      },
    ];
  }

  it.each(ROUTES.map(({ entry, kind }) => [`${entry.method} ${entry.path}`, kind, entry] as const))(
    "%s (body %s): never 5xx; 400 validation_failed exactly when a body is required",
    async (_, kind, entry) => {
      const path = concretePath(entry);
      const failures: string[] = [];
      for (const caller of await callers(entry)) {
        for (const [way, { headers, body }] of Object.entries(WAYS)) {
          const res = await api(path, {
            method: entry.method,
            headers: { ...caller.headers, ...headers },
            body,
          });
          const text = await res.text();
          const code = problemCode(res, text);
          const label = `${caller.name}, ${way}: ${res.status} ${text.slice(0, 300)}`;
          if (res.status >= 500) failures.push(`5xx — ${label}`);
          if (res.status >= 300 && code === undefined)
            failures.push(`not problem+json with a code — ${label}`);
          if (!caller.allowed) continue;
          if (kind === "required" && (res.status !== 400 || code !== "validation_failed")) {
            failures.push(`expected 400 validation_failed — ${label}`);
          }
          if (kind !== "required" && (res.status === 415 || code === "validation_failed")) {
            failures.push(`an empty body must be accepted — ${label}`);
          }
        }
      }
      expect(failures, `${entry.method} ${path}`).toEqual([]);
    },
  );
});

/** Whether each operation's body is required, optional or absent, from the served OpenAPI document. */
async function bodyKinds(): Promise<Map<string, BodyKind>> {
  const res = await api("/openapi.json");
  if (res.status !== 200) throw new Error(`GET /openapi.json answered ${res.status}`);
  const doc = (await res.json()) as {
    paths: Record<string, Record<string, { requestBody?: { required?: boolean } }>>;
  };
  const kinds = new Map<string, BodyKind>();
  for (const [path, operations] of Object.entries(doc.paths)) {
    for (const [method, { requestBody }] of Object.entries(operations)) {
      const kind = requestBody ? (requestBody.required ? "required" : "optional") : "none";
      kinds.set(`${method.toUpperCase()} ${path}`, kind);
    }
  }
  return kinds;
}

/** The problem's `code` if the answer is problem+json with one. */
function problemCode(res: Response, text: string): string | undefined {
  if (res.headers.get("content-type") !== "application/problem+json") return undefined;
  try {
    const { code } = JSON.parse(text) as { code?: unknown };
    return typeof code === "string" ? code : undefined;
  } catch {
    return undefined;
  }
}
