/**
 * Credentials: secrets stored sealed under the tenant's data key (see `crypto.ts`). Lists and
 * reads never load the ciphertext; only `revealCredential` decrypts, and it is always audited.
 * The tenant's data key is created on its first credential, race-free: concurrent first
 * creates insert with `on conflict do nothing` and all of them then read the one that won.
 */

import { eq, getTableColumns } from "drizzle-orm";
import type { Tx } from "../db/client";
import { type CREDENTIAL_KINDS, credentials, tenantKeys } from "../db/schema";
import { type Config, ConfigError } from "../env";
import {
  decryptValue,
  encryptValue,
  generateDataKey,
  importMasterKey,
  type MasterKey,
  unwrapDataKey,
  type WebCryptoKey,
  wrapDataKey,
} from "./crypto";
import { enforceCountQuota } from "./quotas";
import { auditResource, ownedRows, type TenantResourceService, type WriteContext } from "./tenant-resources";
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

async function createCredential(tx: Tx, write: WriteContext, input: CredentialInput): Promise<Credential> {
  await enforceCountQuota(tx, write.tenant, "credentials");
  const tenantId = write.tenant.id;
  // The id is chosen here because it is part of the ciphertext's authenticated data.
  const id = crypto.randomUUID();
  const dataKey = await tenantDataKey(tx, await masterKeyOf(write.config), tenantId, { create: true });
  const sealed = await encryptValue(dataKey, input.value, { tenantId, credentialId: id });
  const [row] = await uniqueName(
    tx
      .insert(credentials)
      .values({ id, tenantId, name: input.name, kind: input.kind, ...sealed, createdBy: write.userId })
      .returning(answered),
    `A ${TYPE} with this name already exists.`,
  );
  if (!row) throw new Error("insert returned no row");
  await auditResource(tx, write, TYPE, "created", id, { name: row.name, kind: row.kind });
  return rows.present(row);
}

/** The plaintext, for admins; the reveal is recorded in the same transaction. */
export async function revealCredential(tx: Tx, write: WriteContext, id: string) {
  const tenantId = write.tenant.id;
  const [row] = await tx.select().from(credentials).where(rows.one(tenantId, id));
  if (!row) throw rows.missing();
  const dataKey = await tenantDataKey(tx, await masterKeyOf(write.config), tenantId, { create: false });
  const value = await decryptValue(dataKey, row, { tenantId, credentialId: row.id });
  await auditResource(tx, write, TYPE, "revealed", row.id, { name: row.name, kind: row.kind });
  return { id: row.id, name: row.name, kind: row.kind, value };
}

async function tenantDataKey(
  tx: Tx,
  master: MasterKey,
  tenantId: string,
  opts: { create: boolean },
): Promise<WebCryptoKey> {
  let wrapped = await findWrappedKey(tx, tenantId);
  if (!wrapped && opts.create) {
    const fresh = await wrapDataKey(master, await generateDataKey(), tenantId);
    await tx
      .insert(tenantKeys)
      .values({ tenantId, ...fresh })
      .onConflictDoNothing({ target: tenantKeys.tenantId });
    wrapped = await findWrappedKey(tx, tenantId);
  }
  if (!wrapped) throw new Error(`tenant ${tenantId} has credentials but no data key`);
  return unwrapDataKey(master, wrapped, tenantId);
}

async function findWrappedKey(tx: Tx, tenantId: string) {
  const [row] = await tx
    .select({
      wrappedKey: tenantKeys.wrappedKey,
      wrapIv: tenantKeys.wrapIv,
      masterKeyId: tenantKeys.masterKeyId,
    })
    .from(tenantKeys)
    .where(eq(tenantKeys.tenantId, tenantId));
  return row;
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
