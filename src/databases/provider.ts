/**
 * Where an enterprise tenant's dedicated Postgres comes from, chosen by configuration: a Neon
 * project per tenant in production (`neonProvider`), a database in the dev stack's own Postgres
 * locally (`dev/databases/local-provider.ts`). Callers see only `DatabaseProvider`.
 */
import { UUID } from "../services/tenancy/tenant-directory";
import { type NeonApi, neonRegionId } from "./neon-api";

export interface CreatedDatabase {
  /** What the control database stores to find the database again: a Neon project id, a local database name. */
  ref: string;
  connectionString: string;
}

export interface DatabaseProvider {
  readonly kind: "neon" | "local";
  create(input: { tenantId: string; region: string }): Promise<CreatedDatabase>;
  /** Idempotent: a ref that is unknown or already dropped succeeds. */
  drop(ref: string): Promise<void>;
}

export interface OperationsWait {
  timeoutMs: number;
  pollMs: number;
}

const PROJECT_NAME_PREFIX = "tenantry-";
/** A fresh project's compute starts in seconds; a queued job retries a create that took longer. */
const DEFAULT_OPERATIONS_WAIT: OperationsWait = { timeoutMs: 60_000, pollMs: 1_000 };

/**
 * One Neon project per tenant, named `tenantry-<tenant id>`, in the Neon region the product
 * region maps to. The answer is the project's pooled URI, once its operations are done.
 */
export function neonProvider(opts: {
  api: NeonApi;
  regions: Readonly<Record<string, string>>;
  wait?: OperationsWait;
}): DatabaseProvider {
  const wait = opts.wait ?? DEFAULT_OPERATIONS_WAIT;
  return {
    kind: "neon",
    async create({ tenantId, region }) {
      const name = `${PROJECT_NAME_PREFIX}${tenantUuid(tenantId)}`;
      const regionId = neonRegionId(region, opts.regions);
      const { projectId, connectionUri } = await opts.api.createProject({ name, regionId });
      try {
        await opts.api.waitForOperations(projectId, wait);
      } catch (err) {
        // The caller never learns this ref, so nothing else could ever delete the project.
        await opts.api.deleteProject(projectId).catch(() => {});
        throw err;
      }
      return { ref: projectId, connectionString: connectionUri };
    },
    async drop(ref) {
      // An empty id would address the collection, whose 404 would pass for "already gone".
      if (!ref) throw new Error("a Neon project id is required to drop a database");
      await opts.api.deleteProject(ref);
    },
  };
}

/**
 * The tenant id, checked to be a uuid and lower-cased: providers build names (and, locally,
 * SQL identifiers) from it, so nothing else may get that far.
 */
export function tenantUuid(tenantId: string): string {
  if (!UUID.test(tenantId)) throw new Error(`the tenant id ${JSON.stringify(tenantId)} is not a uuid`);
  return tenantId.toLowerCase();
}
