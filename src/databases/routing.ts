/**
 * Which database holds a tenant's own rows (clusters, plugins, credentials, audit, idempotency
 * records, webhooks): the control database for a shared tenant, its own for a dedicated one.
 * The tenant record every request already loads carries the sealed connection string, so
 * routing costs no trip: opening it is one AES-GCM decryption, once per isolate and database.
 */
import { type HttpDatabase, openHttp } from "../db/client";
import type { Config } from "../env";
import { findTenant } from "../services/tenancy/tenant-directory";
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

/** Where a tenant's own rows are now, for work off the request path that knows only its id. */
export type HomeLookup =
  | { state: "gone" }
  /** Its rows are being copied: work that writes them waits (src/moves/). */
  | { state: "moving" }
  | { state: "home"; dedicated: boolean; data: HttpDatabase };

/** The tenant's home by id, from this isolate's cached tenant record (30 s at most behind). */
export async function homeOf(config: Config, control: HttpDatabase, tenantId: string): Promise<HomeLookup> {
  const tenant = await findTenant(control, { id: tenantId });
  if (!tenant) return { state: "gone" };
  if (tenant.moveId !== null) return { state: "moving" };
  return {
    state: "home",
    dedicated: tenant.databaseId !== null,
    data: await tenantDatabase(config, control, tenant),
  };
}
