import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dropDatabase, prepareDatabase, seed, withClient } from "../../dev/migrate";
import { type PostgresService, startPostgres } from "../../dev/services/postgres";

const EXPECTED_TABLES = [
  "api_keys",
  "audit_events",
  "clusters",
  "credentials",
  "idempotency_keys",
  "invitations",
  "plugins",
  "provisioning_jobs",
  "tenant_keys",
  "tenant_memberships",
  "tenants",
  "users",
];

describe("migrations", () => {
  let postgres: PostgresService;
  const database = `tenantry_migrate_${randomBytes(4).toString("hex")}`;

  beforeAll(async () => {
    postgres = await startPostgres({ dataDir: join(tmpdir(), `tenantry-migrate-${process.pid}`) });
  });

  afterAll(async () => {
    await dropDatabase(postgres.adminUrl, database).catch(() => {});
    await postgres.stop();
  });

  it("apply to an empty database, every journal entry recorded, and re-apply as a no-op", async () => {
    const first = await prepareDatabase({ serverUrl: postgres.adminUrl, database, appPassword: "pw-one" });
    const journal = JSON.parse(
      await readFile(new URL("../../drizzle/meta/_journal.json", import.meta.url), "utf8"),
    );
    const applied = await withClient(first.adminUrl, async (client) => {
      const tables = await client.query<{ tablename: string }>(
        "select tablename from pg_tables where schemaname = 'public' order by tablename",
      );
      const migrations = await client.query("select * from drizzle.__drizzle_migrations");
      return { tables: tables.rows.map((r) => r.tablename), count: migrations.rowCount };
    });
    expect(applied.tables).toEqual(EXPECTED_TABLES);
    expect(applied.count).toBe(journal.entries.length);

    const second = await prepareDatabase({ serverUrl: postgres.adminUrl, database, appPassword: "pw-two" });
    const count = await withClient(second.adminUrl, async (client) => {
      const migrations = await client.query("select * from drizzle.__drizzle_migrations");
      return migrations.rowCount;
    });
    expect(count).toBe(journal.entries.length);
    // The runtime role logs in with the newest password.
    await withClient(second.appUrl, async (client) => {
      const who = await client.query<{ current_user: string }>("select current_user");
      expect(who.rows[0]?.current_user).toBe("tenantry_app");
    });
  });

  it("seeds the default tenant and the system admin idempotently", async () => {
    const { adminUrl } = await prepareDatabase({ serverUrl: postgres.adminUrl, database, appPassword: "pw" });
    const once = await seed(adminUrl, { adminEmail: "root@example.test", adminPassword: "a-password-123" });
    const twice = await seed(adminUrl, { adminEmail: "root@example.test", adminPassword: "a-password-123" });
    expect(twice).toEqual(once);
    await withClient(adminUrl, async (client) => {
      const rows = await client.query(
        `select t.slug, m.role, u.is_system_admin from tenant_memberships m
           join tenants t on t.id = m.tenant_id join users u on u.id = m.user_id`,
      );
      expect(rows.rows).toEqual([{ slug: "default", role: "admin", is_system_admin: true }]);
    });
  });
});
