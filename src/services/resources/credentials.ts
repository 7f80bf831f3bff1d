/**
 * Credentials: secrets stored sealed under the tenant's data key (see `crypto.ts`). Lists and
 * reads never load the ciphertext; only `revealCredential` decrypts, and it is always audited
 * and counted (the tenant's daily usage, `/metrics`).
 * The tenant's data key is created on its first credential, race-free: concurrent first
 * creates insert with `on conflict do nothing` and all of them then read the one that won.
 */

import { eq, getTableColumns, sql } from "drizzle-orm";
import { batchAsTenant, type HttpDatabase } from "../../db/client";
import { type CREDENTIAL_KINDS, credentials, tenantKeys } from "../../db/schema";
import { WriteBatch } from "../../db/write-batch";
import { type Config, ConfigError } from "../../env";
import { clock } from "../../lib/clock";
import { TtlCache } from "../../lib/ttl-cache";
import {
  decryptValue,
  encryptValue,
  generateDataKey,
  importMasterKey,
  type MasterKey,
  unwrapDataKey,
  type WebCryptoKey,
  wrapDataKey,
} from "../platform/crypto";
import { recordCredentialReveal } from "../platform/metrics";
import { guardCountQuota } from "../tenancy/quotas";
import {
  auditResource,
  ownedRows,
  requireRow,
  type TenantResourceService,
  tenantWrite,
  type WriteContext,
} from "./tenant-resources";
import { uniqueName } from "./unique-names";

const TYPE = "credential";

export type CredentialKind = (typeof CREDENTIAL_KINDS)[number];

export interface CredentialInput {
  name: string;
  kind: CredentialKind;
  value: string;
}

const { ciphertext: _ciphertext, iv: _iv, ...answered } = getTableColumns(credentials);

const rows = ownedRows({
  table: credentials,
  type: TYPE,
  columns: answered,
  present: (row) => ({ kind: row.kind, created_by: row.createdBy }),
});

export type Credential = ReturnType<typeof rows.present>;

export const credentialService: TenantResourceService<Credential, CredentialInput> = {
  list: rows.list,
  get: rows.get,
  remove: rows.remove,
  create: createCredential,
};

async function createCredential(write: WriteContext, input: CredentialInput): Promise<Credential> {
  const tenantId = write.tenant.id;
  // The id is chosen here because it is part of the ciphertext's authenticated data.
  const id = crypto.randomUUID();
  const dataKey = await tenantDataKey(write, tenantId, { create: true });
  const sealed = await encryptValue(dataKey, input.value, { tenantId, credentialId: id });
  const batch = tenantWrite(write);
  guardCountQuota(batch, write.tenant, "credentials");
  const row = {
    id,
    tenantId,
    name: input.name,
    kind: input.kind,
    ...sealed,
    createdBy: write.userId,
    createdAt: new Date(clock.now()),
  };
  batch.do(batch.db.insert(credentials).values(row));
  auditResource(batch, write, TYPE, "created", id, { name: row.name, kind: row.kind });
  const item = rows.present(row);
  await uniqueName(batch.run({ status: 201, body: item }), `A ${TYPE} with this name already exists.`);
  return item;
}

/**
 * The plaintext, for admins, in one round trip: the row, the tenant's wrapped data key and
 * the reveal's audit record travel in one batch (the record commits even if decryption then
 * fails: the attempt is what the audit trail must show). A dedicated tenant's key is read
 * apart, from the control database, unless this isolate holds it already.
 */
export async function revealCredential(write: WriteContext, id: string) {
  const tenantId = write.tenant.id;
  const batch = tenantWrite(write);
  const where = rows.one(tenantId, id);
  requireRow(batch, credentials, where, rows.missing());
  const found = batch.add(batch.db.select().from(credentials).where(where));
  // The data key is in the control database: in this batch only when the tenant's rows are too.
  const wrapped = write.data === write.http ? batch.add(wrappedKeyQuery(batch.db, tenantId)) : undefined;
  auditResource(
    batch,
    write,
    TYPE,
    "revealed",
    id,
    sql`(select jsonb_build_object('name', ${credentials.name}, 'kind', ${credentials.kind}) from ${credentials} where ${where})`,
  );
  await batch.run();
  // Counted as audited: the record above committed, whatever decryption does next.
  recordCredentialReveal(write.config, tenantId);
  const [row] = found.value;
  if (!row) throw rows.missing();
  const dataKey = wrapped
    ? await unwrapCached(write, tenantId, wrapped.value[0])
    : await tenantDataKey(write, tenantId, { create: false });
  const value = await decryptValue(dataKey, row, { tenantId, credentialId: row.id });
  return { id: row.id, name: row.name, kind: row.kind, value };
}

/**
 * Unwrapped data keys, per tenant, for as long as the isolate lives: a tenant's data key never
 * changes (a master key rotation re-wraps it), so a warm create costs no read.
 */
const dataKeys = new TtlCache<Promise<WebCryptoKey>>(3600_000, 1_000);

/** Where a tenant's data key is read from (and, the first time, written to). */
export type KeyAccess = Pick<WriteContext, "http" | "config">;

/**
 * The tenant's data key; on its first secret (a credential, a webhook signing secret),
 * created race-free (see the file comment).
 */
export async function tenantDataKey(
  write: KeyAccess,
  tenantId: string,
  opts: { create: boolean },
): Promise<WebCryptoKey> {
  const cached = dataKeys.get(tenantId);
  if (cached) return cached;
  let [wrapped] = await batchAsTenant(write.http, tenantId, (db) => wrappedKeyQuery(db, tenantId));
  if (!wrapped && opts.create) {
    const fresh = await wrapDataKey(await masterKeyOf(write.config), await generateDataKey(), tenantId);
    const batch = new WriteBatch(write.http, { tenantId });
    batch.do(
      batch.db
        .insert(tenantKeys)
        .values({ tenantId, ...fresh })
        .onConflictDoNothing({ target: tenantKeys.tenantId }),
    );
    const winner = batch.add(wrappedKeyQuery(batch.db, tenantId));
    await batch.run();
    [wrapped] = winner.value;
  }
  return unwrapCached(write, tenantId, wrapped);
}

function unwrapCached(
  write: KeyAccess,
  tenantId: string,
  wrapped: { wrappedKey: string; wrapIv: string; masterKeyId: string } | undefined,
): Promise<WebCryptoKey> {
  if (!wrapped) throw new Error(`tenant ${tenantId} has sealed secrets but no data key`);
  const cached = dataKeys.get(tenantId);
  if (cached) return cached;
  // `await`, not `.then(() => unwrapDataKey(…))`: a promise handed back from a `.then` callback
  // is adopted a microtask later, and workerd reports a failed unwrap that was rejected
  // meanwhile as an unhandled rejection, although it is handled.
  const key = (async () => {
    const master = await masterKeyOf(write.config);
    return await unwrapDataKey(master, wrapped, tenantId);
  })();
  // A key that fails to unwrap is not remembered: the next request tries again.
  key.catch(() => dataKeys.delete(tenantId));
  dataKeys.set(tenantId, key);
  return key;
}

function wrappedKeyQuery(db: HttpDatabase, tenantId: string) {
  return db
    .select({
      wrappedKey: tenantKeys.wrappedKey,
      wrapIv: tenantKeys.wrapIv,
      masterKeyId: tenantKeys.masterKeyId,
    })
    .from(tenantKeys)
    .where(eq(tenantKeys.tenantId, tenantId));
}

/** Imported once per isolate (and again only if the configured key changes). */
let master: { source: string; key: Promise<MasterKey> } | undefined;

function masterKeyOf(config: Pick<Config, "MASTER_KEY">): Promise<MasterKey> {
  if (master?.source !== config.MASTER_KEY) {
    master = {
      source: config.MASTER_KEY,
      key: importMasterKey(config.MASTER_KEY).catch((err: Error) => {
        throw new ConfigError(err.message);
      }),
    };
  }
  return master.key;
}
