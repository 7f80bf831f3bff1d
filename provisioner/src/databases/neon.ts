/**
 * `DATABASE_PROVIDER=neon`: one Neon project per tenant, named `tenantry-<tenant id>`, in the
 * Neon region its product region maps to (a branch shares its project's region, so a project
 * is the unit of residency). A retry finds the project by that name instead of creating a
 * second. The runtime role's password is derived from the project id under
 * DATABASE_PASSWORD_KEY, so every attempt answers the same connection string.
 */
import { createHmac } from "node:crypto";
import {
  NEON_DEFAULT_DATABASE,
  NEON_DEFAULT_OWNER_ROLE,
  type NeonApi,
  NeonOperationsError,
} from "../../../src/databases/neon-api";
import { APP_ROLE } from "./migrate-database";
import { DatabaseConflict, type Migrate, type TenantDatabases, UnknownRegion } from "./tenant-databases";

const PROJECT_NAME_PREFIX = "tenantry-";

export interface OperationsWait {
  timeoutMs: number;
  pollMs: number;
}

/** A fresh project's compute starts in seconds; a queued job retries a create that took longer. */
const DEFAULT_OPERATIONS_WAIT: OperationsWait = { timeoutMs: 60_000, pollMs: 1_000 };

export function neonDatabases(opts: {
  api: NeonApi;
  regions: Readonly<Record<string, string>>;
  /** DATABASE_PASSWORD_KEY. */
  passwordKey: string;
  migrate: Migrate;
  migrationsFolder?: string;
  wait?: OperationsWait;
}): TenantDatabases {
  const { api } = opts;
  return {
    provider: "neon",
    async create({ tenantId, region }) {
      const regionId = Object.hasOwn(opts.regions, region) ? opts.regions[region] : undefined;
      if (!regionId) {
        throw new UnknownRegion(
          `no Neon region is configured for "${region}" (configured: ${Object.keys(opts.regions).join(", ")})`,
        );
      }
      const name = projectName(tenantId);
      const existing = await api.findProject(name);
      if (existing && existing.region_id !== regionId) {
        throw new DatabaseConflict(
          `tenant ${tenantId} already has the Neon project ${existing.id} in ${existing.region_id}, not ${regionId}`,
        );
      }
      const projectId = existing?.id ?? (await api.createProject({ name, regionId })).projectId;
      try {
        await api.waitForOperations(projectId, opts.wait ?? DEFAULT_OPERATIONS_WAIT);
      } catch (err) {
        // A project whose setup failed is never usable: delete it so a retry starts afresh.
        // One still starting is left for the retry to find and wait for.
        if (err instanceof NeonOperationsError && err.reason === "failed") {
          await api.deleteProject(projectId).catch(() => {});
        }
        throw err;
      }
      const [ownerUrl, pooledUrl] = await Promise.all([
        neonOwnerUrl(api, projectId, NEON_DEFAULT_DATABASE),
        api.connectionUri(projectId, {
          database: NEON_DEFAULT_DATABASE,
          role: NEON_DEFAULT_OWNER_ROLE,
          pooled: true,
        }),
      ]);
      const runtime = new URL(pooledUrl);
      runtime.username = APP_ROLE;
      runtime.password = neonRuntimePassword(opts.passwordKey, projectId);
      const connectionString = runtime.toString();
      await opts.migrate({
        migrationUrl: ownerUrl,
        databaseUrl: connectionString,
        migrationsFolder: opts.migrationsFolder,
      });
      return { ref: projectId, region, connectionString };
    },
    async drop({ tenantId, ref }) {
      const project = await api.getProject(ref);
      if (!project) return "gone";
      if (project.name !== projectName(tenantId)) {
        throw new DatabaseConflict(`the Neon project ${ref} is not the database of tenant ${tenantId}`);
      }
      await api.deleteProject(ref);
      return "dropped";
    },
  };
}

/** The owner's direct (unpooled) URI: migrations need a session, not a transaction pooler. */
export function neonOwnerUrl(api: NeonApi, projectId: string, database: string): Promise<string> {
  return api.connectionUri(projectId, { database, role: NEON_DEFAULT_OWNER_ROLE, pooled: false });
}

/** HMAC-SHA256(DATABASE_PASSWORD_KEY, project id), base64url: the same for every attempt. */
export function neonRuntimePassword(passwordKey: string, projectId: string): string {
  return createHmac("sha256", passwordKey).update(projectId).digest("base64url");
}

function projectName(tenantId: string): string {
  return `${PROJECT_NAME_PREFIX}${tenantId.toLowerCase()}`;
}
