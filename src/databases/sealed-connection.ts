/**
 * A dedicated database's connection string (the runtime role's, with its password) is kept in
 * `tenant_databases.connection_sealed`, sealed under a MASTER_KEY subkey and bound to the row
 * and its tenant: a value copied onto another tenant's row does not open.
 */
import { sealer } from "../services/platform/sealed";

export type DatabaseOwner = {
  tenantId: string;
  databaseId: string;
};

const connectionSealer = sealer<DatabaseOwner>({
  keyInfo: "tenantry tenant database v1",
  label: "tenantry/tenant-database/v1",
  fields: ["tenantId", "databaseId"],
  noun: "the tenant database's connection string",
});

export const sealConnection = connectionSealer.seal;
export const openConnection = connectionSealer.open;
