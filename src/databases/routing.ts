/**
 * Which database holds a tenant's own rows (clusters, plugins, credentials, audit, idempotency
 * records, webhooks): the control database for a shared tenant, its own for a dedicated one.
 * The tenant record every request already loads carries the sealed connection string, so
 * routing costs no trip: opening it is one AES-GCM decryption, once per isolate and database.
 */
import { type HttpDatabase, openHttp } from "../db/client";
import type { Config } from "../env";
import { openConnection } from "./sealed-connection";

/** What routing needs of a tenant record (`ResolvedTenant` has it). */
export interface TenantHome {
  id: string;
  databaseId: string | null;
  databaseSealed: string | null;
}

/** Per isolate: a database id never changes its connection string, so it is never stale. */
const opened = new Map<string, Promise<HttpDatabase>>();

/** The database of the tenant's own rows; `control` when it has none of its own. */
export function tenantDatabase(
  config: Config,
  control: HttpDatabase,
  tenant: TenantHome,
): Promise<HttpDatabase> {
  const { databaseId, databaseSealed } = tenant;
  if (databaseId === null) return Promise.resolve(control);
  if (databaseSealed === null) {
    return Promise.reject(
      new Error(`tenant ${tenant.id} points at database ${databaseId}, which has no row`),
    );
  }
  const key = `${databaseId}\u0000${config.MASTER_KEY}`;
  let db = opened.get(key);
  if (!db) {
    db = (async () => {
      const connection = await openConnection(
        config.MASTER_KEY,
        { tenantId: tenant.id, databaseId },
        databaseSealed,
      );
      return openHttp(config, connection);
    })();
    // A failure is not remembered: the next request tries again.
    db.catch(() => opened.delete(key));
    opened.set(key, db);
  }
  return db;
}
