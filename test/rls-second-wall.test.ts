import { env } from "cloudflare:workers";
import type { Pool } from "@neondatabase/serverless";
import { eq, getTableName, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  batchAsTenant,
  type DatabaseHandle,
  findPgError,
  openDatabase,
  type Tx,
  withTenant,
} from "../src/db/client";
import { clusters, credentials, plugins, tenantKeys } from "../src/db/schema";
import { loadConfig } from "../src/env";
import { clusterService } from "../src/services/resources/clusters";
import { credentialService } from "../src/services/resources/credentials";
import { pluginService } from "../src/services/resources/plugins";
import { pools } from "./support/db";
import { type DedicatedDatabase, makeDedicated } from "./support/dedicated";
import { tenantWithRoles } from "./support/fixtures";
import { createOk, type Populated, resourceClient } from "./support/tenant-resource-suite";

/**
 * The second wall. The repositories filter on `tenant_id` themselves; these queries leave
 * that filter out on purpose, through the Worker's own `withTenant` and the runtime role,
 * and still only ever reach the pinned tenant's rows, because Postgres enforces RLS.
 *
 * Proved in the control database (tenants A and B both shared) and in a dedicated tenant's
 * own database: there A is dedicated, its resources made through the API, and the owner
 * copies shared B's rows (and its data key) beside them, so a forgetful query has someone
 * else's rows to find; the control database, meanwhile, holds none of A's own rows.
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

/** Tables whose rows the owner copies into A's own database for the dedicated proof. */
const COPIED = ["tenants", "clusters", "plugins", "credentials", "tenant_keys"];

describe.each(["control", "dedicated"] as const)(
  "RLS as the second wall behind the repositories, %s database",
  (placement) => {
    const db = pools();
    const control = openDatabase(loadConfig(env));
    /** The database under test: the Worker's runtime role in the control database or in A's own. */
    let runtime: DatabaseHandle = control;
    /** Its owner, past RLS. */
    let admin: Pool = db.admin;
    let own: DedicatedDatabase | undefined;
    let a: Populated;
    let b: Populated;
    const owned: Record<string, Record<string, string[]>> = {};

    beforeAll(async () => {
      a = await tenantWithRoles(db.admin, { plan: "enterprise" });
      b = await tenantWithRoles(db.admin, { plan: "enterprise" });
      if (placement === "dedicated") {
        own = await makeDedicated(db.admin, a.tenant.id);
        runtime = openDatabase(loadConfig(env), own.runtimeUrl);
        admin = own.admin;
      }
      for (const tenant of [a, b]) {
        owned[tenant.tenant.id] = {};
        for (const { path, body } of RESOURCES) {
          const client = resourceClient(path, tenant.users.member.token);
          const ids = [];
          for (const name of ["one", "two"]) ids.push((await createOk(client, { name, ...body })).id);
          (owned[tenant.tenant.id] as Record<string, string[]>)[path] = ids;
        }
      }
      if (own) {
        for (const table of COPIED) await copyRows(db.admin, own.admin, table, b.tenant.id);
      }
    });

    afterAll(async () => {
      if (runtime !== control) await runtime.close();
      await control.close();
      await own?.drop();
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
      const who = await runtime.db.execute<{ current_user: string; db: string }>(
        sql`select current_user, current_database() as db`,
      );
      expect(who.rows[0]?.current_user).toBe("tenantry_app");
      expect(who.rows[0]?.db === own?.ref).toBe(placement === "dedicated");
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
        const { rows } = await admin.query(`select id from ${getTableName(table)} where tenant_id = $1`, [
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
        expect(new Set(unfiltered.map((r) => r.tenantId)), getTableName(table)).toEqual(
          new Set([a.tenant.id]),
        );
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
      // A dedicated tenant's data key stays in the control database, with its identity.
      expect(rows).toEqual(placement === "control" ? [{ tenantId: a.tenant.id }] : []);
    });

    it("a transaction that pins no tenant sees no rows at all", async () => {
      const counts = await runtime.db.transaction((tx) =>
        Promise.all(RESOURCES.map(({ table }) => tx.select({ id: table.id }).from(table))),
      );
      expect(counts.map((rows) => rows.length)).toEqual([0, 0, 0]);
    });

    // Only a dedicated tenant has own rows that must be absent from the control database.
    if (placement === "dedicated")
      it("the control database holds none of the dedicated tenant's own rows, even to a forgetful query pinned to it", async () => {
        const { rows } = await db.admin.query<{ tables: string[] }>(
          "select tenantry_tenant_tables() as tables",
        );
        const tables = rows[0]?.tables ?? [];
        expect(tables).toContain("clusters");
        for (const table of tables) expect(await countOf(db.admin, table, a.tenant.id), table).toBe(0);
        for (const { table, path } of RESOURCES) {
          expect(await countOf(admin, getTableName(table), a.tenant.id), path).toBe(idsOf(a, path).length);
          const seen = await withTenant(control.db, a.tenant.id, (tx) =>
            tx.select({ id: table.id }).from(table),
          );
          expect(seen, path).toEqual([]);
        }
      });
  },
);

async function countOf(pool: Pool, table: string, tenantId: string): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(
    `select count(*)::int as n from ${table} where ${table === "tenants" ? "id" : "tenant_id"} = $1`,
    [tenantId],
  );
  return rows[0]?.n ?? 0;
}

/** Copies a tenant's rows of `table` as they are, as the owner of both databases. */
async function copyRows(from: Pool, to: Pool, table: string, tenantId: string): Promise<void> {
  const key = table === "tenants" ? "id" : "tenant_id";
  const { rows } = await from.query<{ rows: unknown[] }>(
    `select coalesce(jsonb_agg(to_jsonb(t)), '[]'::jsonb) as rows from ${table} t where ${key} = $1`,
    [tenantId],
  );
  expect(rows[0]?.rows.length, table).toBeGreaterThan(0);
  await to.query(`insert into ${table} select * from jsonb_populate_recordset(null::${table}, $1)`, [
    JSON.stringify(rows[0]?.rows),
  ]);
}

/** The columns an insert needs besides `tenant_id`, per table. */
function insertable(table: (typeof RESOURCES)[number]["table"]) {
  if (table === clusters) return { name: "sneaky", apiServerUrl: "https://x.example.com", region: "eu" };
  if (table === plugins) return { name: "sneaky", version: "1.0.0" };
  return { name: "sneaky", kind: "token" as const, ciphertext: "AA==", iv: "AA==" };
}
