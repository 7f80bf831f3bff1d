/**
 * `npm run keys:rotate-master`: re-wraps every tenant's data key from OLD_MASTER_KEY to
 * NEW_MASTER_KEY, one transaction per tenant. Credential values are never read or rewritten:
 * they stay sealed under the same data keys. Idempotent: keys already under the new master
 * key are skipped, so an interrupted run is finished by running it again.
 *
 *   DATABASE_URL=postgres://owner@host/db OLD_MASTER_KEY=… NEW_MASTER_KEY=… npm run keys:rotate-master
 *
 * The Worker knows one MASTER_KEY at a time: run this, deploy NEW_MASTER_KEY, then run it
 * once more for any tenant whose first credential was stored in between.
 */
import { fileURLToPath } from "node:url";
import pg from "pg";
import { importMasterKey, type MasterKey, rewrapDataKey } from "../src/services/platform/crypto";

export interface RotationReport {
  rotated: number;
  skipped: number;
  masterKeyId: string;
}

export async function rotateMasterKey(opts: {
  databaseUrl: string;
  oldKey: string;
  newKey: string;
  log?: (line: string) => void;
}): Promise<RotationReport> {
  const log = opts.log ?? (() => {});
  const from = await importMasterKey(opts.oldKey);
  const to = await importMasterKey(opts.newKey);
  if (from.id === to.id) throw new Error("OLD_MASTER_KEY and NEW_MASTER_KEY are the same key");

  const client = new pg.Client({ connectionString: opts.databaseUrl });
  await client.connect();
  try {
    await assertSeesEveryKey(client);
    const report: RotationReport = { rotated: 0, skipped: 0, masterKeyId: to.id };
    const listed = await inSystemScope(client, () =>
      client.query<{ tenant_id: string }>("select tenant_id from tenant_keys order by tenant_id"),
    );
    for (const { tenant_id: tenantId } of listed.rows) {
      const done = await inSystemScope(client, () => rotateOne(client, tenantId, from, to));
      if (done) report.rotated += 1;
      else report.skipped += 1;
    }
    log(`${report.rotated} tenant keys re-wrapped under ${to.id}, ${report.skipped} already were`);
    return report;
  } finally {
    await client.end();
  }
}

/** Re-wraps one tenant's key under a row lock; false when it already is under `to`. */
async function rotateOne(
  client: pg.Client,
  tenantId: string,
  from: MasterKey,
  to: MasterKey,
): Promise<boolean> {
  const { rows } = await client.query<{ wrapped_key: string; wrap_iv: string; master_key_id: string }>(
    "select wrapped_key, wrap_iv, master_key_id from tenant_keys where tenant_id = $1 for update",
    [tenantId],
  );
  const row = rows[0];
  if (!row || row.master_key_id === to.id) return false;
  if (row.master_key_id !== from.id) {
    throw new Error(
      `tenant ${tenantId}: its key is wrapped by master key ${row.master_key_id}, which is neither ${from.id} (old) nor ${to.id} (new)`,
    );
  }
  const rewrapped = await rewrapDataKey(
    from,
    to,
    { wrappedKey: row.wrapped_key, wrapIv: row.wrap_iv, masterKeyId: row.master_key_id },
    tenantId,
  );
  await client.query(
    `update tenant_keys set wrapped_key = $2, wrap_iv = $3, master_key_id = $4, rotated_at = now()
      where tenant_id = $1`,
    [tenantId, rewrapped.wrappedKey, rewrapped.wrapIv, rewrapped.masterKeyId],
  );
  return true;
}

/** One transaction in the system scope the policies on `tenant_keys` admit for cross-tenant work. */
async function inSystemScope<T>(client: pg.Client, fn: () => Promise<T>): Promise<T> {
  await client.query("begin");
  try {
    await client.query("select set_config('app.scope', 'system', true)");
    const result = await fn();
    await client.query("commit");
    return result;
  } catch (err) {
    await client.query("rollback").catch(() => {});
    throw err;
  }
}

/**
 * `tenant_keys` has FORCEd row-level security: a role that neither bypasses it nor is named in
 * its system-scope policy would see no keys at all, and a rotation would silently do nothing.
 */
async function assertSeesEveryKey(client: pg.Client): Promise<void> {
  const { rows } = await client.query<{ role: string; bypass: boolean; system_scope: boolean }>(
    `select current_user as role, r.rolsuper or r.rolbypassrls as bypass,
            exists (select 1 from pg_policies p
                     where p.schemaname = 'public' and p.tablename = 'tenant_keys'
                       and p.policyname = 'tenant_keys_system_scope'
                       and (current_user = any (p.roles) or 'public' = any (p.roles))) as system_scope
       from pg_roles r where r.rolname = current_user`,
  );
  const me = rows[0];
  if (!me?.bypass && !me?.system_scope) {
    throw new Error(
      `role ${me?.role ?? "?"} is bound by row-level security on tenant_keys and would not see every tenant's key: ` +
        "connect as the database owner (superuser or BYPASSRLS)",
    );
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const missing = ["DATABASE_URL", "OLD_MASTER_KEY", "NEW_MASTER_KEY"].filter((name) => !process.env[name]);
  if (missing.length > 0) {
    console.error(
      `${missing.join(", ")} not set. DATABASE_URL is the owner's connection; the keys are base64.`,
    );
    process.exit(1);
  }
  try {
    await rotateMasterKey({
      databaseUrl: process.env.DATABASE_URL as string,
      oldKey: process.env.OLD_MASTER_KEY as string,
      newKey: process.env.NEW_MASTER_KEY as string,
      log: (line) => console.log(line),
    });
  } catch (err) {
    console.error(`master key rotation failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  }
}
