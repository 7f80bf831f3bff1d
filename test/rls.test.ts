import { Pool } from "@neondatabase/serverless";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { insertTenant, pools } from "./support/db";
import { type DedicatedDatabase, makeDedicated } from "./support/dedicated";

/**
 * The second wall: even a query that forgets `where tenant_id` sees only the tenant pinned
 * by `app.tenant_id`, because the runtime role is subject to FORCEd row-level security.
 * Proved twice: in the control database, between two shared tenants, and in a dedicated
 * tenant's own database, where the owner writes a second tenant's rows beside the dedicated
 * tenant's so that a forgetful query has someone else's rows to find.
 */
const PLACEMENTS = ["control", "dedicated"] as const;

describe.each(PLACEMENTS)("row-level security as the runtime role, %s database", (placement) => {
  const db = pools();
  let own: DedicatedDatabase | undefined;
  /** The owner and the runtime role in the database under test. */
  let admin: Pool;
  let app: Pool;
  let tenantA: string;
  let tenantB: string;

  beforeAll(async () => {
    tenantA = await insertTenant(db.admin);
    admin = db.admin;
    app = db.app;
    if (placement === "dedicated") {
      own = await makeDedicated(db.admin, tenantA);
      admin = own.admin;
      app = new Pool({ connectionString: own.runtimeUrl, max: 2 });
      app.on("error", () => {});
    }
    tenantB = await insertTenant(admin);
    for (const [tenant, name] of [
      [tenantA, "a-one"],
      [tenantA, "a-two"],
      [tenantB, "b-one"],
    ] as const) {
      await admin.query(
        "insert into clusters (tenant_id, name, api_server_url, region) values ($1, $2, 'https://k8s.example', 'eu')",
        [tenant, name],
      );
    }
  });

  afterAll(async () => {
    if (own) {
      await app.end();
      await own.drop();
    }
    await db.end();
  });

  async function asTenant<T>(tenantId: string | null, fn: (q: Pool) => Promise<T>): Promise<T> {
    const client = await app.connect();
    try {
      await client.query("begin");
      if (tenantId) await client.query("select set_config('app.tenant_id', $1, true)", [tenantId]);
      const result = await fn(client as unknown as Pool);
      await client.query("rollback");
      return result;
    } catch (err) {
      await client.query("rollback").catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  }

  it("a select with no where clause returns only the pinned tenant's rows", async () => {
    const names = await asTenant(tenantA, async (q) => {
      const { rows } = await q.query<{ name: string; tenant_id: string }>("select * from clusters");
      return rows;
    });
    expect(names.map((r) => r.name).sort()).toEqual(["a-one", "a-two"]);
    expect(new Set(names.map((r) => r.tenant_id))).toEqual(new Set([tenantA]));
  });

  it("refuses an insert carrying another tenant's id (42501)", async () => {
    const error = await asTenant(tenantA, (q) =>
      q
        .query(
          "insert into clusters (tenant_id, name, api_server_url, region) values ($1, 'sneaky', 'https://x', 'eu')",
          [tenantB],
        )
        .then(() => undefined)
        .catch((err: { code?: string }) => err),
    );
    expect(error?.code).toBe("42501");
  });

  it("cannot move a row to another tenant with an update", async () => {
    const error = await asTenant(tenantA, (q) =>
      q
        .query("update clusters set tenant_id = $1 where name = 'a-one'", [tenantB])
        .then(() => undefined)
        .catch((err: { code?: string }) => err),
    );
    expect(error?.code).toBe("42501");
  });

  it("sees nothing at all when no tenant is pinned", async () => {
    const count = await asTenant(null, async (q) => {
      const { rows } = await q.query<{ n: string }>("select count(*)::text as n from clusters");
      return rows[0]?.n;
    });
    expect(count).toBe("0");
  });

  it("the runtime role is no superuser, owns nothing and cannot bypass RLS", async () => {
    const { rows } = await app.query<{
      user: string;
      db: string;
      rolsuper: boolean;
      rolbypassrls: boolean;
      owned: string;
    }>(
      `select current_user as user, current_database() as db, r.rolsuper, r.rolbypassrls,
              (select count(*)::text from pg_class c where c.relowner = r.oid) as owned
         from pg_roles r where r.rolname = current_user`,
    );
    expect(rows[0]).toMatchObject({ user: "tenantry_app", rolsuper: false, rolbypassrls: false, owned: "0" });
    expect(rows[0]?.db === own?.ref).toBe(placement === "dedicated");
  });

  it("every tenant-owned table has RLS enabled and FORCEd", async () => {
    const { rows } = await admin.query<{
      relname: string;
      relrowsecurity: boolean;
      relforcerowsecurity: boolean;
    }>(
      `select c.relname, c.relrowsecurity, c.relforcerowsecurity
         from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'public' and c.relkind = 'r'
          and exists (select 1 from information_schema.columns col
                       where col.table_name = c.relname and col.column_name = 'tenant_id')
        order by c.relname`,
    );
    expect(rows.length).toBeGreaterThanOrEqual(10);
    for (const row of rows)
      expect(row, row.relname).toMatchObject({ relrowsecurity: true, relforcerowsecurity: true });
  });

  it("audit events are append-only for the runtime role", async () => {
    const error = await asTenant(tenantA, (q) =>
      q
        .query("delete from audit_events")
        .then(() => undefined)
        .catch((err: { code?: string }) => err),
    );
    expect(error?.code).toBe("42501");
  });
});
