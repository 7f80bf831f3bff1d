import { randomBytes } from "node:crypto";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import {
  applyMigrations,
  dropDatabase,
  prepareDatabase,
  seed,
  withClient,
  withDatabase,
} from "../../dev/migrate";
import { type PostgresService, startPostgres } from "../../dev/servers/postgres";

const EXPECTED_TABLES = [
  "api_keys",
  "audit_events",
  "clusters",
  "credentials",
  "idempotency_keys",
  "invitations",
  "notifications",
  "plugins",
  "provisioning_jobs",
  "tenant_databases",
  "tenant_keys",
  "tenant_memberships",
  "tenant_moves",
  "tenants",
  "usage_daily",
  "users",
  "webhook_deliveries",
  "webhook_endpoints",
  "webhook_relay",
  "webhook_relayed",
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

  it("0004 reports, rather than fails on, users whose emails collide when normalised and reserved or uuid-shaped slugs", async () => {
    const name = `tenantry_collide_${randomBytes(4).toString("hex")}`;
    const url = withDatabase(postgres.adminUrl, name);
    await withClient(postgres.adminUrl, (client) => client.query(`create database "${name}"`));
    // The migrations as they were before 0004.
    const before = await mkdtemp(join(tmpdir(), "tenantry-migrations-"));
    await cp(fileURLToPath(new URL("../../drizzle", import.meta.url)), before, { recursive: true });
    const journalPath = join(before, "meta", "_journal.json");
    const journal = JSON.parse(await readFile(journalPath, "utf8"));
    journal.entries = journal.entries.filter((e: { tag: string }) => e.tag < "0004");
    await writeFile(journalPath, JSON.stringify(journal));
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    try {
      await applyMigrations(url, before);
      const ids = await withClient(url, async (client) => {
        const users = await client.query<{ id: string }>(
          `insert into users (email, created_at) values ('bob@example.test', now() - interval '1 day'),
             ('ｂｏｂ@example.test', now()) returning id`,
        );
        await client.query(
          "insert into tenants (slug, name) values ('admin', 'old admin'), ('0123abcd-0000-4000-8000-0123456789ab', 'uuid-like')",
        );
        return users.rows.map((r) => r.id);
      });
      await applyMigrations(url);
      const messages = warn.mock.calls.map((call) => String(call[0]));
      expect(messages.some((m) => m.includes(ids[1] as string) && m.includes("normalised email"))).toBe(true);
      expect(messages.some((m) => m.includes("reserved or uuid-shaped slug admin"))).toBe(true);
      await withClient(url, async (client) => {
        const rows = await client.query<{ email: string; email_normalized: string | null }>(
          "select email, email_normalized from users order by created_at",
        );
        expect(rows.rows).toEqual([
          { email: "bob@example.test", email_normalized: "bob@example.test" },
          { email: "ｂｏｂ@example.test", email_normalized: null },
        ]);
        // The rules bind new rows: a third spelling of bob (only its NFKC form collides) is refused.
        await expect(client.query("insert into users (email) values ('ｂob@example.test')")).rejects.toThrow(
          /users_email_normalized_key/,
        );
        await expect(client.query("insert into tenants (slug, name) values ('docs', 'x')")).rejects.toThrow(
          /tenants_slug_not_reserved_check/,
        );
      });
    } finally {
      warn.mockRestore();
      await rm(before, { recursive: true, force: true });
      await dropDatabase(postgres.adminUrl, name).catch(() => {});
    }
  });
});
