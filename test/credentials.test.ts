import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { fromBase64, utf8 } from "../src/lib/encoding";
import { generateKey } from "../src/services/access/api-keys";
import { importMasterKey, unwrapDataKey, wrapDataKey } from "../src/services/platform/crypto";
import { api, bearer, tenantWithRoles } from "./support/fixtures";
import { expectProblem } from "./support/problems";
import {
  auditOf,
  createOk,
  describeTenantResource,
  type Populated,
  resourceClient,
  useMemberClient,
} from "./support/tenant-resource-suite";

const PATH = "/api/v1/credentials";
const KINDS = ["token", "password", "ssh_key", "certificate", "kubeconfig"] as const;

describeTenantResource({
  path: PATH,
  type: "credential",
  reader: "member",
  body: (name) => ({ name, kind: "token", value: `value-of-${name}` }),
});

const reveal = (token: string, id: string) =>
  api(`${PATH}/${id}/reveal`, { method: "POST", headers: bearer(token) });

/** A secret no response may contain, distinctive enough to search raw bodies for. */
const secret = () => `s3cr3t-${crypto.randomUUID()}`;

interface StoredRow {
  tenant_id: string;
  name: string;
  kind: string;
  ciphertext: string;
  iv: string;
}

describe("credential values", () => {
  const f = useMemberClient(PATH);
  const member = () => f.client;
  const adminToken = () => f.tenant.users.admin.token;

  async function stored(id: string): Promise<StoredRow> {
    const { rows } = await f.db.admin.query<StoredRow>(
      "select tenant_id, name, kind, ciphertext, iv from credentials where id = $1",
      [id],
    );
    return rows[0] as StoredRow;
  }

  async function keyRows(tenantId: string) {
    const { rows } = await f.db.admin.query<{ wrapped_key: string; wrap_iv: string; master_key_id: string }>(
      "select wrapped_key, wrap_iv, master_key_id from tenant_keys where tenant_id = $1",
      [tenantId],
    );
    return rows;
  }

  /** Inserts a credential row as the owner, as a database-level attacker (or a bad migration) would. */
  async function insertRow(tenantId: string, row: Pick<StoredRow, "ciphertext" | "iv">): Promise<string> {
    const { rows } = await f.db.admin.query<{ id: string }>(
      "insert into credentials (tenant_id, name, kind, ciphertext, iv) values ($1, $2, 'token', $3, $4) returning id",
      [tenantId, `copied-${crypto.randomUUID()}`, row.ciphertext, row.iv],
    );
    return rows[0]?.id as string;
  }

  it("create, list and get answer metadata only: never the value, ciphertext or IV", async () => {
    const value = secret();
    const res = await member().create({ name: f.next(), kind: "password", value });
    const createdText = await res.text();
    expect(res.status).toBe(201);
    const created = JSON.parse(createdText) as { id: string };
    expect(Object.keys(created).sort()).toEqual(["created_at", "created_by", "id", "kind", "name"]);
    expect(created).toMatchObject({ kind: "password", created_by: f.tenant.users.member.id });
    const { ciphertext, iv } = await stored(created.id);
    for (const text of [
      createdText,
      await (await member().list("?limit=100")).text(),
      await (await member().get(created.id)).text(),
    ]) {
      for (const leak of [value, ciphertext, iv, '"value"', '"ciphertext"', '"iv"'])
        expect(text).not.toContain(leak);
    }
  });

  it("stores AES-GCM ciphertext, not the plaintext: 96-bit IV, 128-bit tag", async () => {
    const value = secret();
    const { id } = await createOk(member(), { name: f.next(), kind: "token", value });
    const row = await stored(id);
    expect(row.ciphertext).not.toContain(value);
    const bytes = fromBase64(row.ciphertext);
    expect(new TextDecoder().decode(bytes)).not.toContain(value);
    expect(bytes.byteLength).toBe(utf8(value).byteLength + 16);
    expect(fromBase64(row.iv).byteLength).toBe(12);
  });

  it("creates the tenant's data key with its first credential, once, under the configured master key", async () => {
    const { tenant, users } = await tenantWithRoles(f.db.admin, { plan: "enterprise" });
    const client = resourceClient(PATH, users.member.token);
    expect(await keyRows(tenant.id)).toEqual([]);
    await createOk(client, { name: "first", kind: "token", value: secret() });
    const [key] = await keyRows(tenant.id);
    expect(key?.master_key_id).toBe((await importMasterKey(env.MASTER_KEY)).id);
    await createOk(client, { name: "second", kind: "token", value: secret() });
    expect(await keyRows(tenant.id)).toEqual([key]);
  });

  it("concurrent first credentials of a tenant agree on one data key", async () => {
    const { tenant, users } = await tenantWithRoles(f.db.admin, { plan: "enterprise" });
    const client = resourceClient(PATH, users.member.token);
    const values = Array.from({ length: 8 }, secret);
    const created = await Promise.all(
      values.map((value, i) => createOk(client, { name: `race-${i}`, kind: "token", value })),
    );
    expect(await keyRows(tenant.id)).toHaveLength(1);
    for (const [i, item] of created.entries()) {
      expect(await (await reveal(users.admin.token, item.id)).json()).toMatchObject({ value: values[i] });
    }
  });

  it("an admin reveals the exact value, uncacheable, and every reveal is audited", async () => {
    const value = "  multi-line\n\tsecret: ü€😀  \n";
    const item = await createOk(member(), { name: f.next(), kind: "kubeconfig", value });
    const first = await reveal(adminToken(), item.id);
    expect(first.status).toBe(200);
    expect(first.headers.get("cache-control")).toBe("no-store");
    expect(await first.json()).toEqual({ id: item.id, name: item.name, kind: "kubeconfig", value });
    const second = await reveal(adminToken(), item.id);
    expect(second.status).toBe(200);
    const audit = await auditOf(f.db.admin, f.tenant.tenant.id, item.id);
    expect(audit.map((r) => [r.action, r.actor_id])).toEqual([
      ["credential.created", f.tenant.users.member.id],
      ["credential.revealed", f.tenant.users.admin.id],
      ["credential.revealed", f.tenant.users.admin.id],
    ]);
    expect(audit[2]?.request_id).toBe(second.headers.get("X-Request-ID"));
    expect(JSON.stringify(audit)).not.toContain("secret: ");
  });

  it("a member or viewer may not reveal (403), and nothing is recorded as revealed", async () => {
    const item = await createOk(member(), { name: f.next(), kind: "token", value: secret() });
    for (const role of ["member", "viewer"] as const) {
      await expectProblem(await reveal(f.tenant.users[role].token, item.id), 403, "forbidden");
    }
    const actions = (await auditOf(f.db.admin, f.tenant.tenant.id, item.id)).map((r) => r.action);
    expect(actions).toEqual(["credential.created"]);
  });

  it("an admin API key reveals too, audited as the key", async () => {
    const item = await createOk(member(), { name: f.next(), kind: "token", value: secret() });
    const key = await generateKey(f.tenant.tenant.slug);
    const { rows } = await f.db.admin.query<{ id: string }>(
      "insert into api_keys (tenant_id, name, role, prefix, key_hash) values ($1, 'reveal', 'admin', $2, $3) returning id",
      [f.tenant.tenant.id, key.prefix, key.hash],
    );
    const res = await api(`${PATH}/${item.id}/reveal`, { method: "POST", headers: { "x-api-key": key.key } });
    expect(res.status).toBe(200);
    const [, revealed] = await auditOf(f.db.admin, f.tenant.tenant.id, item.id);
    expect(revealed).toMatchObject({
      action: "credential.revealed",
      actor_type: "api_key",
      actor_id: rows[0]?.id,
    });
  });

  it("404 for revealing an unknown, deleted or other tenant's credential", async () => {
    const other = await tenantWithRoles(f.db.admin, { plan: "enterprise" });
    const theirs = await createOk(resourceClient(PATH, other.users.member.token), {
      name: "theirs",
      kind: "token",
      value: secret(),
    });
    const deleted = await createOk(member(), { name: f.next(), kind: "token", value: secret() });
    expect((await member().remove(deleted.id)).status).toBe(204);
    expect(await f.db.admin.query("select 1 from credentials where id = $1", [deleted.id])).toMatchObject({
      rowCount: 0,
    });
    for (const id of [crypto.randomUUID(), deleted.id, theirs.id]) {
      await expectProblem(await reveal(adminToken(), id), 404, "not_found");
    }
  });

  it("a ciphertext copied to another row does not decrypt: the credential id is authenticated", async () => {
    const value = secret();
    const original = await createOk(member(), { name: f.next(), kind: "token", value });
    const copy = await insertRow(f.tenant.tenant.id, await stored(original.id));
    const res = await reveal(adminToken(), copy);
    await expectProblem(res.clone(), 500, "internal");
    expect(await res.text()).not.toContain(value);
    expect(await (await reveal(adminToken(), original.id)).json()).toMatchObject({ value });
  });

  it("a row moved to another tenant does not decrypt there, even under the same data key", async () => {
    const value = secret();
    const original = await createOk(member(), { name: f.next(), kind: "token", value });
    // Give tenant B the very data key of tenant A, properly wrapped for B, so that only the
    // tenant id in the value's authenticated data can tell the two tenants apart.
    const b: Populated = await tenantWithRoles(f.db.admin, { plan: "enterprise" });
    const master = await importMasterKey(env.MASTER_KEY);
    const [aKey] = await keyRows(f.tenant.tenant.id);
    if (!aKey) throw new Error("tenant A has no data key");
    const dataKey = await unwrapDataKey(
      master,
      { wrappedKey: aKey.wrapped_key, wrapIv: aKey.wrap_iv, masterKeyId: aKey.master_key_id },
      f.tenant.tenant.id,
      { extractable: true },
    );
    const forB = await wrapDataKey(master, dataKey, b.tenant.id);
    await f.db.admin.query(
      "insert into tenant_keys (tenant_id, wrapped_key, wrap_iv, master_key_id) values ($1, $2, $3, $4)",
      [b.tenant.id, forB.wrappedKey, forB.wrapIv, forB.masterKeyId],
    );
    const control = await createOk(resourceClient(PATH, b.users.member.token), {
      name: "control",
      kind: "token",
      value: "b's own",
    });
    expect(await (await reveal(b.users.admin.token, control.id)).json()).toMatchObject({ value: "b's own" });

    await f.db.admin.query("update credentials set tenant_id = $1 where id = $2", [b.tenant.id, original.id]);
    const res = await reveal(b.users.admin.token, original.id);
    await expectProblem(res.clone(), 500, "internal");
    expect(await res.text()).not.toContain(value);
  });

  it("a wrapped data key copied to another tenant does not unwrap there", async () => {
    await createOk(member(), { name: f.next(), kind: "token", value: secret() });
    const c = await tenantWithRoles(f.db.admin, { plan: "enterprise" });
    await f.db.admin.query(
      `insert into tenant_keys (tenant_id, wrapped_key, wrap_iv, master_key_id)
       select $1, wrapped_key, wrap_iv, master_key_id from tenant_keys where tenant_id = $2`,
      [c.tenant.id, f.tenant.tenant.id],
    );
    const res = await resourceClient(PATH, c.users.member.token).create({
      name: "x",
      kind: "token",
      value: secret(),
    });
    await expectProblem(res, 500, "internal");
  });

  it("accepts every kind and a value of exactly 64 KiB, kept byte for byte", async () => {
    for (const kind of KINDS) await createOk(member(), { name: f.next(), kind, value: `${kind} value` });
    const value = `${"x".repeat(65_535)} `;
    const item = await createOk(member(), { name: f.next(), kind: "certificate", value });
    expect(((await (await reveal(adminToken(), item.id)).json()) as { value: string }).value).toBe(value);
  });

  it("400 for a value over 64 KiB (in UTF-8 bytes) or empty, or an unknown kind, without echoing the value", async () => {
    const marker = secret();
    for (const body of [
      { kind: "token", value: marker + "x".repeat(65_536) },
      { kind: "token", value: marker + "€".repeat(21_846) },
      { kind: "token", value: "" },
      { kind: "token" },
      { kind: "token", value: 42 },
      { kind: "api_token", value: marker },
      { value: marker },
    ]) {
      const res = await member().create({ name: f.next(), ...body });
      const problem = await expectProblem(res, 400, "validation_failed");
      expect(JSON.stringify(problem)).not.toContain(marker);
    }
  });
});
