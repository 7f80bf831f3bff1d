/**
 * Where a move gets a dedicated database from and gives it back to: the provisioner
 * (`POST /v1/databases`, `DELETE /v1/databases/{ref}`), behind an interface so the runner can
 * be driven by a test double. Both calls are idempotent per tenant: a create retried after a
 * crash answers the database the first one made.
 */
import type { DatabaseProviderKind } from "../db/schema";

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
