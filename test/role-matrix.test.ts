import { afterAll, describe, expect, it } from "vitest";
import "../src/app";
import type { Role } from "../src/db/schema";
import { type Access, ROUTE_TABLE, type RouteEntry } from "../src/routes/route-table";
import { generateKey } from "../src/services/access/api-keys";
import { ROLE_RANK } from "../src/services/access/principal";
import { pools } from "./support/db";
import { addMember, api, createTenant, createUser, type TestTenant, tokenFor } from "./support/fixtures";

/**
 * Every route of the route table × every kind of caller, generated from the table itself so
 * that a new route is covered the moment it is declared. Callers always select tenant A.
 */
type Caller =
  | { name: "anonymous" }
  | { name: "outsider" }
  | { name: "system_admin" }
  | { name: `user_${Role}`; role: Role }
  | { name: `key_${Role}`; role: Role };

const CALLERS: Caller[] = [
  { name: "anonymous" },
  { name: "outsider" },
  { name: "user_viewer", role: "viewer" },
  { name: "user_member", role: "member" },
  { name: "user_admin", role: "admin" },
  { name: "key_viewer", role: "viewer" },
  { name: "key_member", role: "member" },
  { name: "key_admin", role: "admin" },
  { name: "system_admin" },
];

function allowed(access: Access, caller: Caller): boolean {
  switch (access.kind) {
    case "public":
      return true;
    case "authenticated":
      return caller.name !== "anonymous";
    case "user":
      return caller.name !== "anonymous" && !caller.name.startsWith("key_");
    case "system":
      return caller.name === "system_admin";
    case "tenant":
      if (caller.name === "system_admin") return true;
      return "role" in caller && ROLE_RANK[caller.role] >= ROLE_RANK[access.role];
  }
}

describe("role matrix", () => {
  const db = pools();
  afterAll(() => db.end());

  async function credentials(tenant: TestTenant): Promise<Record<string, Record<string, string>>> {
    const out: Record<string, Record<string, string>> = { anonymous: {} };
    const outsiderTenant = await createTenant(db.admin);
    const outsider = await createUser(db.admin);
    await addMember(db.admin, outsiderTenant, outsider, "admin");
    out.outsider = { authorization: `Bearer ${await tokenFor(outsider, outsiderTenant)}` };
    const sys = await createUser(db.admin, { isSystemAdmin: true });
    out.system_admin = { authorization: `Bearer ${await tokenFor(sys, null, { isSystemAdmin: true })}` };
    for (const role of ["viewer", "member", "admin"] as const) {
      const user = await createUser(db.admin);
      await addMember(db.admin, tenant, user, role);
      out[`user_${role}`] = { authorization: `Bearer ${await tokenFor(user, tenant)}` };
      const key = await generateKey(tenant.slug);
      await db.admin.query(
        "insert into api_keys (tenant_id, name, role, prefix, key_hash) values ($1, $2, $3, $4, $5)",
        [tenant.id, `matrix-${role}`, role, key.prefix, key.hash],
      );
      out[`key_${role}`] = { "x-api-key": key.key };
    }
    return out;
  }

  function concretePath(entry: RouteEntry, tenant: TestTenant): string {
    return entry.path.replace(/\{([^}]+)\}/g, (_, name: string) =>
      entry.access.kind === "tenant" && entry.access.tenantParam === name ? tenant.id : crypto.randomUUID(),
    );
  }

  it("every route answers 401/403 exactly to the callers its access forbids", async () => {
    const failures: string[] = [];
    let cases = 0;
    for (const entry of ROUTE_TABLE) {
      // A fresh tenant per route: an allowed destructive call (delete, suspend) cannot
      // change what the next route sees. Denied callers go first for the same reason.
      const tenant = await createTenant(db.admin, { plan: "enterprise" });
      const creds = await credentials(tenant);
      const ordered = [...CALLERS].sort(
        (x, y) => Number(allowed(entry.access, x)) - Number(allowed(entry.access, y)),
      );
      for (const caller of ordered) {
        cases += 1;
        const headers: Record<string, string> = { ...creds[caller.name], "x-tenant-id": tenant.slug };
        const init: RequestInit = { method: entry.method, headers };
        if (["POST", "PATCH", "PUT"].includes(entry.method)) {
          headers["content-type"] = "application/json";
          init.body = "{}";
        }
        const res = await api(concretePath(entry, tenant), init);
        const denied = res.status === 401 || res.status === 403;
        const expectAllowed = allowed(entry.access, caller);
        const expectedStatus = caller.name === "anonymous" ? 401 : 403;
        if (expectAllowed === denied || (!expectAllowed && res.status !== expectedStatus)) {
          failures.push(`${entry.method} ${entry.path} as ${caller.name}: ${res.status} ${await res.text()}`);
        }
      }
    }
    console.info(`role matrix: ${ROUTE_TABLE.length} routes × ${CALLERS.length} callers = ${cases} cases`);
    expect(failures).toEqual([]);
    expect(cases).toBe(ROUTE_TABLE.length * CALLERS.length);
  }, 240_000);

  it("declares every API route in the table (nothing mounted outside it)", async () => {
    const res = await api("/openapi.json");
    const doc = (await res.json()) as { paths: Record<string, Record<string, unknown>> };
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((method) => `${method.toUpperCase()} ${path}`),
    );
    const declared = ROUTE_TABLE.map((e) => `${e.method} ${e.path}`);
    expect(documented.sort()).toEqual(declared.sort());
  });
});
