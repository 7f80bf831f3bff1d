/**
 * A dedicated tenant's own database, as the provisioner's routes see it: create (and migrate)
 * or drop, both idempotent so a retried job finds what an earlier attempt made instead of
 * making a second one. `local.ts` serves the dev stack's Postgres, `neon.ts` a Neon project
 * per tenant.
 */
import type { DatabaseProviderKind } from "@tenantry/contract";
import type { MigrationReport } from "./migrate-database";

export interface TenantDatabase {
  ref: string;
  region: string;
  /** The runtime role's connection string: a secret, never logged. */
  connectionString: string;
}

export interface TenantDatabases {
  readonly provider: DatabaseProviderKind;
  create(input: { tenantId: string; region: string }): Promise<TenantDatabase>;
  drop(input: { tenantId: string; ref: string }): Promise<"dropped" | "gone">;
}

/** `migrateDatabase`, or a stand-in where no real database sits behind the provider. */
export type Migrate = (opts: {
  migrationUrl: string;
  databaseUrl: string;
  migrationsFolder?: string;
}) => Promise<MigrationReport>;

/** The request names something that exists but is not what it must be (409). */
export class DatabaseConflict extends Error {
  override name = "DatabaseConflict";
}

/** A region no mapping names (400). */
export class UnknownRegion extends Error {
  override name = "UnknownRegion";
}

/**
 * Runs one tenant's requests one after another: a retry that arrives while the first attempt
 * still runs waits for it, then finds its database, instead of creating or migrating it
 * concurrently. Per process only; the Worker sends one job per tenant at a time.
 */
export function serializedPerTenant(databases: TenantDatabases): TenantDatabases {
  const running = new Map<string, Promise<unknown>>();
  const serialize = <T>(tenantId: string, step: () => Promise<T>): Promise<T> => {
    const previous = running.get(tenantId) ?? Promise.resolve();
    const next = previous.catch(() => {}).then(step);
    running.set(tenantId, next);
    const forget = () => {
      if (running.get(tenantId) === next) running.delete(tenantId);
    };
    next.then(forget, forget);
    return next;
  };
  return {
    provider: databases.provider,
    create: (input) => serialize(input.tenantId, () => databases.create(input)),
    drop: (input) => serialize(input.tenantId, () => databases.drop(input)),
  };
}
