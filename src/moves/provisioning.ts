/**
 * Where a move gets a dedicated database from and gives it back to: the provisioner
 * (`POST /v1/databases`, `DELETE /v1/databases/{ref}`), behind an interface so the runner can
 * be driven by a test double. Both calls are idempotent per tenant: a create retried after a
 * crash answers the database the first one made.
 */
import type { DatabaseProviderKind } from "../db/schema";
import type { Config } from "../env";
import { createTenantDatabase, dropTenantDatabase } from "../jobs/provisioner-client";

export interface ProvisionedDatabase {
  provider: DatabaseProviderKind;
  /** A Neon project id or a local database name. */
  ref: string;
  region: string;
  /** The runtime role's connection string: a secret, sealed before it is stored. */
  connectionString: string;
}

export interface DatabaseProvisioning {
  create(tenantId: string, region: string): Promise<ProvisionedDatabase>;
  drop(tenantId: string, ref: string): Promise<void>;
}

/** The provisioner's databases, as the runner needs them; a refusal or an outage throws with its reason. */
export function provisionerDatabases(
  config: Pick<Config, "PROVISIONER_URL" | "PROVISIONER_SECRET">,
): DatabaseProvisioning {
  return {
    async create(tenantId, region) {
      const outcome = await createTenantDatabase(config, { tenantId, region });
      if (!outcome.ok) throw new Error(`creating the tenant's database failed: ${outcome.error}`);
      const { provider, ref, region: placed, connection_string } = outcome.database;
      return { provider, ref, region: placed, connectionString: connection_string };
    },
    async drop(tenantId, ref) {
      const outcome = await dropTenantDatabase(config, { tenantId, ref });
      if (!outcome.ok) throw new Error(`dropping the tenant's database ${ref} failed: ${outcome.error}`);
    },
  };
}
