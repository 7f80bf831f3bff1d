/**
 * The behaviour every tenant-owned resource shares (clusters, plugins, credentials), run
 * against each of them through the real fetch entry: shapes and status codes, roles, names
 * unique per tenant, 404s, mass assignment, audit records, deletion and pagination.
 */
import type { Pool } from "@neondatabase/serverless";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Role } from "../../src/db/schema";
import { pools } from "./db";
import { api, bearer, jsonInit, tenantWithRoles } from "./fixtures";
import { expectProblem } from "./problems";

export type Populated = Awaited<ReturnType<typeof tenantWithRoles>>;

export interface ResourceSuiteSpec {
  /** `/api/v1/clusters` */
  path: string;
  /** The audit target type: `cluster`. */
  type: string;
  /** The lowest role that may read. */
  reader: Role;
  /** A valid create body for the given name. */
  body(name: string): Record<string, unknown>;
  /** A valid change for PATCH; absent when the resource has none. */
  change?: Record<string, unknown>;
}

export interface Item {
  id: string;
  name: string;
  created_at: string;
  updated_at?: string;
  [field: string]: unknown;
}

/** A client for one resource, calling as one user of a tenant. */
export function resourceClient(path: string, token: string) {
  const auth = bearer(token);
  return {
    create: (body: unknown) => api(path, jsonInit("POST", body, auth)),
    list: (query = "") => api(`${path}${query}`, { headers: auth }),
    get: (id: string) => api(`${path}/${id}`, { headers: auth }),
    patch: (id: string, body: unknown) => api(`${path}/${id}`, jsonInit("PATCH", body, auth)),
    remove: (id: string) => api(`${path}/${id}`, { method: "DELETE", headers: auth }),
  };
}

export type ResourceClient = ReturnType<typeof resourceClient>;

/**
 * For a block about one resource's own fields: a fresh tenant, a member's client, the
 * owner's pool and names never used before, set up and torn down with the enclosing block.
 */
export function useMemberClient(path: string) {
  const db = pools();
  let count = 0;
  const fixture = {
    db,
    tenant: {} as Populated,
    client: {} as ResourceClient,
    next: () => `item-${++count}`,
  };
  beforeAll(async () => {
    fixture.tenant = await tenantWithRoles(db.admin, { plan: "enterprise" });
    fixture.client = resourceClient(path, fixture.tenant.users.member.token);
  });
  afterAll(() => db.end());
  return fixture;
}

export async function createOk(client: ResourceClient, body: unknown): Promise<Item> {
  const res = await client.create(body);
  expect(res.status, await res.clone().text()).toBe(201);
  return (await res.json()) as Item;
}

export interface AuditRow {
  action: string;
  actor_type: string;
  actor_id: string | null;
  target_type: string;
  target_id: string;
  request_id: string | null;
  meta: Record<string, unknown>;
}

/** The audit records about one target, oldest first, read as the owner. */
export async function auditOf(pool: Pool, tenantId: string, targetId: string): Promise<AuditRow[]> {
  const { rows } = await pool.query<AuditRow>(
    `select action, actor_type, actor_id, target_type, target_id, request_id, meta
       from audit_events where tenant_id = $1 and target_id = $2 order by created_at, id`,
    [tenantId, targetId],
  );
  return rows;
}

export function describeTenantResource(spec: ResourceSuiteSpec): void {
  describe(`${spec.path}: what every tenant resource does`, () => {
    const db = pools();
    let a: Populated;
    let b: Populated;
    let writer: ResourceClient;
    let names = 0;
    const fresh = () => {
      names += 1;
      return `${spec.type}-${names}-${Math.random().toString(36).slice(2, 8)}`;
    };

    beforeAll(async () => {
      a = await tenantWithRoles(db.admin, { plan: "enterprise" });
      b = await tenantWithRoles(db.admin, { plan: "enterprise" });
      writer = resourceClient(spec.path, a.users.member.token);
    });

    afterAll(() => db.end());

    it("a member creates: 201 with the bare object, audited with actor and request id", async () => {
      const name = fresh();
      const res = await writer.create(spec.body(name));
      expect(res.status).toBe(201);
      const item = (await res.json()) as Item;
      expect(item).toMatchObject({ id: expect.any(String), name, created_at: expect.any(String) });
      expect(item).not.toHaveProperty("tenant_id");
      expect(await auditOf(db.admin, a.tenant.id, item.id)).toEqual([
        expect.objectContaining({
          action: `${spec.type}.created`,
          actor_type: "user",
          actor_id: a.users.member.id,
          target_type: spec.type,
          request_id: res.headers.get("X-Request-ID"),
        }),
      ]);
      const again = await resourceClient(spec.path, a.users[spec.reader].token).get(item.id);
      expect(await again.json()).toEqual(item);
    });

    it("documents a create body whose patterns accept a valid body", async () => {
      const doc = (await (await api("/openapi.json")).json()) as {
        components: { schemas: Record<string, { properties: Record<string, { pattern?: string }> }> };
      };
      const schema =
        doc.components.schemas[`Create${spec.type.charAt(0).toUpperCase()}${spec.type.slice(1)}`];
      const body = spec.body("documented");
      expect(Object.keys(schema?.properties ?? {}).sort()).toEqual(Object.keys(body).sort());
      for (const [field, { pattern }] of Object.entries(schema?.properties ?? {})) {
        if (pattern) expect(new RegExp(pattern, "u").test(String(body[field])), field).toBe(true);
      }
    });

    it("trims the name", async () => {
      const name = fresh();
      const item = await createOk(writer, spec.body(`  ${name}  `));
      expect(item.name).toBe(name);
    });

    it("409 conflict for a name the tenant already uses; another tenant may use it", async () => {
      const name = fresh();
      await createOk(writer, spec.body(name));
      const body = await expectProblem(await writer.create(spec.body(name)), 409, "conflict");
      expect(body.detail).toContain(spec.type);
      await createOk(resourceClient(spec.path, b.users.member.token), spec.body(name));
    });

    it("404 not_found for an unknown id on every item route", async () => {
      const id = crypto.randomUUID();
      await expectProblem(await writer.get(id), 404, "not_found");
      await expectProblem(await writer.remove(id), 404, "not_found");
      if (spec.change) await expectProblem(await writer.patch(id, spec.change), 404, "not_found");
    });

    it("another tenant's id is 404 everywhere and its rows never appear in the list", async () => {
      const theirs = await createOk(resourceClient(spec.path, b.users.member.token), spec.body(fresh()));
      await expectProblem(await writer.get(theirs.id), 404, "not_found");
      await expectProblem(await writer.remove(theirs.id), 404, "not_found");
      if (spec.change) await expectProblem(await writer.patch(theirs.id, spec.change), 404, "not_found");
      const listed = (await (await writer.list("?limit=100")).json()) as { data: Item[] };
      expect(listed.data.map((i) => i.id)).not.toContain(theirs.id);
      const still = await resourceClient(spec.path, b.users.member.token).get(theirs.id);
      expect(still.status).toBe(200);
    });

    it("400 validation_failed for an id that is not a uuid", async () => {
      await expectProblem(await writer.get("not-a-uuid"), 400, "validation_failed");
    });

    it("400 for tenant_id, id or any unknown field in the body, and nothing is written", async () => {
      const name = fresh();
      for (const extra of [
        { tenant_id: b.tenant.id },
        { id: crypto.randomUUID() },
        { created_at: "2020-01-01" },
      ]) {
        const body = await expectProblem(
          await writer.create({ ...spec.body(name), ...extra }),
          400,
          "validation_failed",
        );
        expect(body.errors?.[0]?.code).toBe("unrecognized_keys");
      }
      const { rows } = await db.admin.query("select 1 from audit_events where meta->>'name' = $1", [name]);
      expect(rows).toEqual([]);
    });

    it("400 for a missing or blank name, or one over 100 characters", async () => {
      const { name: _, ...nameless } = spec.body("x");
      for (const body of [nameless, spec.body("   "), spec.body("n".repeat(101)), spec.body("tab\there")]) {
        await expectProblem(await writer.create(body), 400, "validation_failed");
      }
      await createOk(writer, spec.body("n".repeat(100)));
    });

    it("a role below the reader cannot read; a role below member cannot write", async () => {
      const item = await createOk(writer, spec.body(fresh()));
      const roles: Role[] = ["viewer", "member", "admin"];
      for (const role of roles) {
        const client = resourceClient(spec.path, a.users[role].token);
        const mayRead = roles.indexOf(role) >= roles.indexOf(spec.reader);
        const mayWrite = role !== "viewer";
        expect((await client.list()).status, `${role} list`).toBe(mayRead ? 200 : 403);
        expect((await client.get(item.id)).status, `${role} get`).toBe(mayRead ? 200 : 403);
        if (!mayWrite) {
          await expectProblem(await client.create(spec.body(fresh())), 403, "forbidden");
          await expectProblem(await client.remove(item.id), 403, "forbidden");
          if (spec.change) await expectProblem(await client.patch(item.id, spec.change), 403, "forbidden");
        }
      }
      expect((await writer.get(item.id)).status).toBe(200);
    });

    it("delete: 204, then 404, audited as deleted", async () => {
      const item = await createOk(writer, spec.body(fresh()));
      const res = await writer.remove(item.id);
      expect(res.status).toBe(204);
      expect(await res.text()).toBe("");
      await expectProblem(await writer.get(item.id), 404, "not_found");
      const actions = (await auditOf(db.admin, a.tenant.id, item.id)).map((r) => r.action);
      expect(actions).toEqual([`${spec.type}.created`, `${spec.type}.deleted`]);
    });

    it("pages by cursor through every row once, in creation order", async () => {
      const tenant = await tenantWithRoles(db.admin, { plan: "enterprise" });
      const client = resourceClient(spec.path, tenant.users.member.token);
      const created: string[] = [];
      for (let i = 0; i < 5; i++) created.push((await createOk(client, spec.body(`page-${i}`))).id);
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const query: string = `?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
        const res = await client.list(query);
        expect(res.status).toBe(200);
        const page = (await res.json()) as { data: Item[]; next_cursor: string | null };
        expect(page.data.length).toBeLessThanOrEqual(2);
        seen.push(...page.data.map((item) => item.id));
        cursor = page.next_cursor;
      } while (cursor);
      expect(seen).toEqual(created);
    });

    it("400 for a limit out of 1–100 or a cursor that was not issued", async () => {
      for (const query of ["?limit=0", "?limit=101", "?limit=abc", "?cursor=bm9wZQ"]) {
        await expectProblem(await writer.list(query), 400, "validation_failed");
      }
    });

    if (spec.change) {
      const change = spec.change;

      it("patch: changes the given fields only, bumps updated_at, audited with the field names", async () => {
        const name = fresh();
        const before = await createOk(writer, spec.body(name));
        const res = await writer.patch(before.id, change);
        expect(res.status).toBe(200);
        const after = (await res.json()) as Item;
        expect(after).toEqual({ ...before, ...change, updated_at: expect.any(String) });
        expect(Date.parse(after.updated_at ?? "")).toBeGreaterThanOrEqual(
          Date.parse(before.updated_at ?? ""),
        );
        const [, updated] = await auditOf(db.admin, a.tenant.id, before.id);
        expect(updated).toMatchObject({
          action: `${spec.type}.updated`,
          meta: { name, fields: Object.keys(change).sort() },
        });
      });

      it("patch: renames, but 409 conflict onto a taken name", async () => {
        const taken = await createOk(writer, spec.body(fresh()));
        const item = await createOk(writer, spec.body(fresh()));
        const renamed = fresh();
        expect(await (await writer.patch(item.id, { name: renamed })).json()).toMatchObject({
          name: renamed,
        });
        await expectProblem(await writer.patch(item.id, { name: taken.name }), 409, "conflict");
      });

      it("patch: 400 for an empty body, tenant_id or id", async () => {
        const item = await createOk(writer, spec.body(fresh()));
        for (const body of [{}, { tenant_id: b.tenant.id }, { id: crypto.randomUUID() }]) {
          await expectProblem(await writer.patch(item.id, body), 400, "validation_failed");
        }
        expect(await (await writer.get(item.id)).json()).toEqual(item);
      });
    }
  });
}
