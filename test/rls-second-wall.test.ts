import { env } from "cloudflare:workers";
import { eq, getTableName, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { batchAsTenant, findPgError, openDatabase, type Tx, withTenant } from "../src/db/client";
import { clusters, credentials, plugins, tenantKeys } from "../src/db/schema";
import { loadConfig } from "../src/env";
import { clusterService } from "../src/services/resources/clusters";
import { credentialService } from "../src/services/resources/credentials";
import { pluginService } from "../src/services/resources/plugins";
import { pools } from "./support/db";
import { tenantWithRoles } from "./support/fixtures";
import { createOk, type Populated, resourceClient } from "./support/tenant-resource-suite";

/**
 * The second wall. The repositories filter on `tenant_id` themselves; these queries leave
 * that filter out on purpose, through the Worker's own `withTenant` and the runtime role,
 * and still only ever reach the pinned tenant's rows, because Postgres enforces RLS.
 */
const RESOURCES = [
  {
    table: clusters,
    path: "/api/v1/clusters",
    body: { api_server_url: "https://k8s.example.com", region: "eu" },
  },
  { table: plugins, path: "/api/v1/plugins", body: { version: "1.0.0" } },
  { table: credentials, path: "/api/v1/credentials", body: { kind: "token", value: "rls-secret" } },
] as const;

/** Undoes a transaction's writes after `fn` has looked at what they did. */
class RolledBack<T> extends Error {
  constructor(readonly result: T) {
    super("rolled back on purpose");
  }
}

describe("RLS as the second wall behind the repositories", () => {
  const db = pools();
  const runtime = openDatabase(loadConfig(env));
  let a: Populated;
  let b: Populated;
  const owned: Record<string, Record<string, string[]>> = {};

  beforeAll(async () => {
    a = await tenantWithRoles(db.admin, { plan: "enterprise" });
    b = await tenantWithRoles(db.admin, { plan: "enterprise" });
    for (const tenant of [a, b]) {
      owned[tenant.tenant.id] = {};
      for (const { path, body } of RESOURCES) {
        const client = resourceClient(path, tenant.users.member.token);
        const ids = [];
        for (const name of ["one", "two"]) ids.push((await createOk(client, { name, ...body })).id);
        (owned[tenant.tenant.id] as Record<string, string[]>)[path] = ids;
      }
    }
  });

  afterAll(async () => {
    await runtime.close();
    await db.end();
  });

  const idsOf = (tenant: Populated, path: string) => [...(owned[tenant.tenant.id]?.[path] ?? [])].sort();

  async function rolledBack<T>(tenantId: string, fn: (tx: Tx) => Promise<T>): Promise<T> {
    try {
      await withTenant(runtime.db, tenantId, async (tx) => {
        throw new RolledBack(await fn(tx));
      });
    } catch (err) {
      if (err instanceof RolledBack) return err.result as T;
      throw err;
    }
    throw new Error("unreachable");
  }

  it("runs as the Worker's runtime role, which RLS binds", async () => {
    const who = await runtime.db.execute<{ current_user: string }>(sql`select current_user`);
    expect(who.rows[0]?.current_user).toBe("tenantry_app");
  });

  for (const { table, path } of RESOURCES) {
    it(`${path}: a select without where, pinned to tenant A, returns exactly A's rows`, async () => {
      const rows = await withTenant(runtime.db, a.tenant.id, (tx) =>
        tx.select({ id: table.id, tenantId: table.tenantId }).from(table),
      );
      expect(rows.map((r) => r.id).sort()).toEqual(idsOf(a, path));
      expect(new Set(rows.map((r) => r.tenantId))).toEqual(new Set([a.tenant.id]));
    });

    it(`${path}: an update and a delete without where touch only tenant A's rows`, async () => {
      const touched = await rolledBack(a.tenant.id, async (tx) => {
        const updated = await tx
          .update(table)
          .set({ createdAt: new Date(0) })
          .returning({ id: table.id });
        const deleted = await tx.delete(table).returning({ id: table.id });
        return { updated: updated.map((r) => r.id).sort(), deleted: deleted.map((r) => r.id).sort() };
      });
      expect(touched).toEqual({ updated: idsOf(a, path), deleted: idsOf(a, path) });
      const { rows } = await db.admin.query(`select id from ${getTableName(table)} where tenant_id = $1`, [
        b.tenant.id,
      ]);
      expect(rows.map((r: { id: string }) => r.id).sort()).toEqual(idsOf(b, path));
    });

    it(`${path}: an insert carrying tenant B's id is refused while pinned to A (42501)`, async () => {
      const error = await withTenant(runtime.db, a.tenant.id, (tx) =>
        tx
          .insert(table)
          .values({ ...insertable(table), tenantId: b.tenant.id })
          .then(() => undefined),
      ).catch((err: unknown) => err);
      expect(findPgError(error)?.code).toBe("42501");
    });
  }

  it("a one-round-trip read pinned to A finds nothing when it asks for tenant B's rows", async () => {
    for (const table of [clusters, plugins, credentials]) {
      const rows = await batchAsTenant(runtime.http, a.tenant.id, (db) =>
        db.select({ id: table.id }).from(table).where(eq(table.tenantId, b.tenant.id)),
      );
      expect(rows, getTableName(table)).toEqual([]);
      const unfiltered = await batchAsTenant(runtime.http, a.tenant.id, (db) =>
        db.select({ tenantId: table.tenantId }).from(table),
      );
      expect(new Set(unfiltered.map((r) => r.tenantId)), getTableName(table)).toEqual(new Set([a.tenant.id]));
    }
    // The repositories read through the same path: B's ids are not found under A's pin.
    const services = [clusterService, pluginService, credentialService];
    const [theirCredential] = idsOf(b, "/api/v1/credentials");
    const pinnedToA = await Promise.all(
      services.map((service) => service.list(runtime.http, a.tenant.id, { limit: 100 })),
    );
    for (const page of pinnedToA) expect(page.data.map((item) => item.id)).not.toContain(theirCredential);
    await expect(
      credentialService.get(runtime.http, a.tenant.id, theirCredential ?? ""),
    ).rejects.toMatchObject({
      code: "not_found",
    });
  });

  it("tenant_keys: another tenant's wrapped data key is invisible", async () => {
    const rows = await withTenant(runtime.db, a.tenant.id, (tx) =>
      tx.select({ tenantId: tenantKeys.tenantId }).from(tenantKeys),
    );
    expect(rows).toEqual([{ tenantId: a.tenant.id }]);
  });

  it("a transaction that pins no tenant sees no rows at all", async () => {
    const counts = await runtime.db.transaction((tx) =>
      Promise.all(RESOURCES.map(({ table }) => tx.select({ id: table.id }).from(table))),
    );
    expect(counts.map((rows) => rows.length)).toEqual([0, 0, 0]);
  });
});

/** The columns an insert needs besides `tenant_id`, per table. */
function insertable(table: (typeof RESOURCES)[number]["table"]) {
  if (table === clusters) return { name: "sneaky", apiServerUrl: "https://x.example.com", region: "eu" };
  if (table === plugins) return { name: "sneaky", version: "1.0.0" };
  return { name: "sneaky", kind: "token" as const, ciphertext: "AA==", iv: "AA==" };
}
