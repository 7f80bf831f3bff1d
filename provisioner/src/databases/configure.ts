/**
 * Builds the configured provider of dedicated databases (DATABASE_PROVIDER), migrating each
 * database it makes with the repository's `drizzle/` migrations.
 */
import { DEFAULT_NEON_REGIONS, NeonApi } from "../../../src/databases/neon-api";
import { localDatabases } from "./local";
import { migrateDatabase } from "./migrate-database";
import { neonDatabases } from "./neon";
import { serializedPerTenant, type TenantDatabases } from "./tenant-databases";

export type DatabasesOptions =
  | {
      provider: "local";
      /** DATABASE_ADMIN_URL: an owner of the server, allowed to CREATE DATABASE. */
      adminUrl: string;
      /** DATABASE_RUNTIME_URL: the runtime role's URL on the same server. */
      runtimeUrl: string;
      migrationsFolder?: string;
    }
  | {
      provider: "neon";
      apiKey: string;
      /** NEON_API_URL; Neon's own by default. */
      apiUrl?: string;
      /** NEON_REGIONS: product region → Neon region id; DEFAULT_NEON_REGIONS by default. */
      regions?: Readonly<Record<string, string>>;
      /** DATABASE_PASSWORD_KEY: the runtime role's password is derived from it. */
      passwordKey: string;
      migrationsFolder?: string;
    };

export function createTenantDatabases(opts: DatabasesOptions): TenantDatabases {
  const common = { migrate: migrateDatabase, migrationsFolder: opts.migrationsFolder };
  const databases =
    opts.provider === "local"
      ? localDatabases({ ...common, adminUrl: opts.adminUrl, runtimeUrl: opts.runtimeUrl })
      : neonDatabases({
          ...common,
          api: new NeonApi({ apiKey: opts.apiKey, baseUrl: opts.apiUrl }),
          regions: opts.regions ?? DEFAULT_NEON_REGIONS,
          passwordKey: opts.passwordKey,
        });
  return serializedPerTenant(databases);
}
