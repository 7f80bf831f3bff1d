import { randomBytes, randomUUID } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dropDatabase, type PreparedDatabase, prepareDatabase, withClient } from "../../dev/migrate";
import { type PostgresService, startPostgres } from "../../dev/servers/postgres";
import { rotateMasterKey } from "../../scripts/rotate-master-key";
import {
  DecryptionError,
  decryptValue,
  encryptValue,
  generateDataKey,
  importMasterKey,
  type MasterKey,
  unwrapDataKey,
  wrapDataKey,
} from "../../src/services/platform/crypto";

const newKeyText = () => randomBytes(32).toString("base64");

interface KeyRow {
  tenant_id: string;
  wrapped_key: string;
  wrap_iv: string;
  master_key_id: string;
  rotated_at: Date | null;
}

describe("npm run keys:rotate-master", () => {
  let postgres: PostgresService;
  let db: PreparedDatabase;
  const database = `tenantry_rotate_${randomBytes(4).toString("hex")}`;
  const oldText = newKeyText();
  const newText = newKeyText();
  let oldKey: MasterKey;
  let newKey: MasterKey;
  /** tenant id → its credential's id and plaintext. */
  const stored = new Map<string, { credentialId: string; value: string }>();

  const owner = <T>(fn: Parameters<typeof withClient<T>>[1]) => withClient(db.adminUrl, fn);

  /** A tenant with a data key wrapped by `master` and one credential sealed under it, as the Worker stores them. */
  async function seedTenant(master: MasterKey): Promise<string> {
    return owner(async (client) => {
      const slug = `rot-${randomBytes(4).toString("hex")}`;
      const tenant = await client.query<{ id: string }>(
        "insert into tenants (slug, name) values ($1, $1) returning id",
        [slug],
      );
      const tenantId = tenant.rows[0]?.id as string;
      const dataKey = await generateDataKey();
      const wrapped = await wrapDataKey(master, dataKey, tenantId);
      await client.query(
        "insert into tenant_keys (tenant_id, wrapped_key, wrap_iv, master_key_id) values ($1, $2, $3, $4)",
        [tenantId, wrapped.wrappedKey, wrapped.wrapIv, wrapped.masterKeyId],
      );
      const credentialId = randomUUID();
      const value = `value-of-${slug}`;
      const sealed = await encryptValue(dataKey, value, { tenantId, credentialId });
      await client.query(
        "insert into credentials (id, tenant_id, name, kind, ciphertext, iv) values ($1, $2, 'db', 'password', $3, $4)",
        [credentialId, tenantId, sealed.ciphertext, sealed.iv],
      );
      stored.set(tenantId, { credentialId, value });
      return tenantId;
    });
  }

  const keyRows = () =>
    owner(
      async (client) => (await client.query<KeyRow>("select * from tenant_keys order by tenant_id")).rows,
    );

  const credentialRows = () =>
    owner(
      async (client) =>
        (await client.query("select id, tenant_id, ciphertext, iv from credentials order by id")).rows,
    );

  /** Unwraps the tenant's stored key with `master` and decrypts its credential. */
  async function reveal(master: MasterKey, tenantId: string): Promise<string> {
    const key = (await keyRows()).find((row) => row.tenant_id === tenantId);
    const { rows } = await owner((client) =>
      client.query<{ id: string; ciphertext: string; iv: string }>(
        "select id, ciphertext, iv from credentials where tenant_id = $1",
        [tenantId],
      ),
    );
    const credential = rows[0];
    if (!key || !credential) throw new Error(`tenant ${tenantId} has no key or credential`);
    const dataKey = await unwrapDataKey(
      master,
      { wrappedKey: key.wrapped_key, wrapIv: key.wrap_iv, masterKeyId: key.master_key_id },
      tenantId,
    );
    return decryptValue(dataKey, credential, { tenantId, credentialId: credential.id });
  }

  beforeAll(async () => {
    postgres = await startPostgres({ dataDir: join(tmpdir(), `tenantry-rotate-${process.pid}`) });
    db = await prepareDatabase({ serverUrl: postgres.adminUrl, database, appPassword: "rotate-pw" });
    [oldKey, newKey] = await Promise.all([importMasterKey(oldText), importMasterKey(newText)]);
  });

  afterAll(async () => {
    await dropDatabase(postgres.adminUrl, database).catch(() => {});
    await postgres.stop();
  });

  it("re-wraps every tenant's key under the new master key without touching a credential", async () => {
    const tenants = [await seedTenant(oldKey), await seedTenant(oldKey)];
    const credentialsBefore = await credentialRows();
    const report = await rotateMasterKey({ databaseUrl: db.adminUrl, oldKey: oldText, newKey: newText });
    expect(report).toEqual({ rotated: 2, skipped: 0, masterKeyId: newKey.id });
    expect(await credentialRows()).toEqual(credentialsBefore);
    for (const row of await keyRows()) {
      expect(row.master_key_id).toBe(newKey.id);
      expect(row.rotated_at).toBeInstanceOf(Date);
    }
    for (const tenantId of tenants) {
      expect(await reveal(newKey, tenantId)).toBe(stored.get(tenantId)?.value);
      await expect(reveal(oldKey, tenantId)).rejects.toBeInstanceOf(DecryptionError);
    }
  });

  it("is idempotent: a second run skips keys already under the new master key and changes nothing", async () => {
    const before = await keyRows();
    const report = await rotateMasterKey({ databaseUrl: db.adminUrl, oldKey: oldText, newKey: newText });
    expect(report).toEqual({ rotated: 0, skipped: before.length, masterKeyId: newKey.id });
    expect(await keyRows()).toEqual(before);
  });

  it("finishes an interrupted rotation: only the keys still under the old master key are re-wrapped", async () => {
    const late = await seedTenant(oldKey);
    const alreadyDone = await keyRows();
    const report = await rotateMasterKey({ databaseUrl: db.adminUrl, oldKey: oldText, newKey: newText });
    expect(report.rotated).toBe(1);
    expect(report.skipped).toBe(alreadyDone.length - 1);
    expect(await reveal(newKey, late)).toBe(stored.get(late)?.value);
  });

  it("stops at a key wrapped by neither master key, naming the tenant", async () => {
    const stranger = await seedTenant(await importMasterKey(newKeyText()));
    await expect(
      rotateMasterKey({ databaseUrl: db.adminUrl, oldKey: oldText, newKey: newText }),
    ).rejects.toThrow(new RegExp(`tenant ${stranger}: .*neither`));
    await owner((client) => client.query("delete from tenants where id = $1", [stranger]));
  });

  it("refuses a role that row-level security would hide tenants' keys from", async () => {
    const role = `rls_blind_${randomBytes(3).toString("hex")}`;
    await owner(async (client) => {
      await client.query(`create role ${role} login password 'blind-pw'`);
      await client.query(`grant usage on schema public to ${role}`);
      await client.query(`grant select, update on tenant_keys to ${role}`);
    });
    const url = new URL(db.adminUrl);
    url.username = role;
    url.password = "blind-pw";
    await expect(
      rotateMasterKey({ databaseUrl: url.toString(), oldKey: newText, newKey: oldText }),
    ).rejects.toThrow(/row-level security on tenant_keys/);
  });

  it("refuses the same key twice and keys that are not 32 bytes of base64", async () => {
    await expect(
      rotateMasterKey({ databaseUrl: db.adminUrl, oldKey: newText, newKey: newText }),
    ).rejects.toThrow(/same key/);
    await expect(
      rotateMasterKey({
        databaseUrl: db.adminUrl,
        oldKey: oldText,
        newKey: randomBytes(16).toString("base64"),
      }),
    ).rejects.toThrow(/32 bytes/);
  });
});
