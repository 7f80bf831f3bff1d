/**
 * The dev stack's `DatabaseProvider`: a tenant's dedicated database is a database in the
 * stack's own Postgres, created and dropped by the owner. Node only (it speaks `pg`).
 */
import { type DatabaseProvider, tenantUuid } from "../../src/databases/provider";
import { withClient, withDatabase } from "../migrate";

const DATABASE_PREFIX = "tenantry_t_";
/** The only names this provider creates, so the only ones it will drop. */
const DATABASE_NAME = new RegExp(`^${DATABASE_PREFIX}[0-9a-f]{32}$`);
/** Postgres's `duplicate_database`. */
const DUPLICATE_DATABASE = "42P04";

export function localProvider(opts: {
  /** The owner's URL: it runs CREATE and DROP DATABASE. */
  adminUrl: string;
  /** The runtime role's URL; the answered connection string is this with the database swapped. */
  runtimeUrl: string;
}): DatabaseProvider {
  return {
    kind: "local",
    // `region` is ignored: the dev stack has one Postgres, in no region.
    async create({ tenantId }) {
      const name = `${DATABASE_PREFIX}${tenantUuid(tenantId).replaceAll("-", "")}`;
      await withClient(opts.adminUrl, async (client) => {
        try {
          await client.query(`create database ${client.escapeIdentifier(name)}`);
        } catch (err) {
          if ((err as { code?: string }).code === DUPLICATE_DATABASE) {
            throw new Error(`the database ${name} of tenant ${tenantId} already exists`);
          }
          throw err;
        }
      });
      return { ref: name, connectionString: withDatabase(opts.runtimeUrl, name) };
    },
    async drop(ref) {
      // A ref is only ever a name `create` answered: never the control database or another one.
      if (!DATABASE_NAME.test(ref)) throw new Error(`${JSON.stringify(ref)} is not a tenant database name`);
      await withClient(opts.adminUrl, async (client) => {
        await client.query(`drop database if exists ${client.escapeIdentifier(ref)} with (force)`);
      });
    },
  };
}
