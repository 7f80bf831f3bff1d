/**
 * Dedicated tenants for the benchmark, next to the shared ones: probe tenants seeded like
 * them (identity rows in the control database), each placed in a Postgres database of its
 * own as the dev stack's provider makes one (dev/databases/local-provider.ts, then the
 * repository's migrations and the runtime role), with its mirror row there and, in the control
 * database, its `tenant_databases` row (the runtime role's connection string sealed under the
 * Worker's MASTER_KEY) and its pointer. Then the same rows the shared probes get — 10 clusters
 * each, and for writers what the write scenarios act on — in its own database.
 */
import type { Backends } from "../dev/backends";
import { localProvider } from "../dev/databases/local-provider";
import { migrateDatabase, withClient, withDatabase } from "../dev/migrate";
import { sealConnection } from "../src/databases/sealed-connection";
import { type Probe, seedClusters, seedTenants, seedWriteTargets, type WriteTarget } from "./seed";

/** Not the control database's region, as a customer choosing residency would. */
const REGION = "eu-central";

export interface DedicatedTenants {
  readers: Probe[];
  writers: WriteTarget[];
  /** Drops every database this made (a benchmark against a long-lived server leaves none behind). */
  drop(): Promise<void>;
}

export async function seedDedicatedTenants(opts: {
  backends: Pick<Backends, "adminDatabaseUrl" | "databaseUrl">;
  masterKey: string;
  jwtSecret: string;
  readers: number;
  writers: number;
  poolSize: number;
}): Promise<DedicatedTenants> {
  const { adminDatabaseUrl } = opts.backends;
  const probes = await seedTenants(adminDatabaseUrl, opts.jwtSecret, opts.readers + opts.writers, {
    probes: opts.readers + opts.writers,
    prefix: "bench-dedicated-",
    clusters: false,
  });
  const provider = localProvider({ adminUrl: adminDatabaseUrl, runtimeUrl: opts.backends.databaseUrl });
  const refs: string[] = [];
  const drop = async () => {
    for (const ref of refs) await provider.drop(ref);
  };
  try {
    const rowsUrls = new Map<string, string>();
    for (const probe of probes) {
      const { ref, connectionString } = await provider.create({ tenantId: probe.id, region: REGION });
      refs.push(ref);
      const ownerUrl = withDatabase(adminDatabaseUrl, ref);
      await migrateDatabase({ migrationUrl: ownerUrl, databaseUrl: connectionString });
      await place(adminDatabaseUrl, ownerUrl, opts.masterKey, probe.id, { ref, connectionString });
      rowsUrls.set(probe.id, ownerUrl);
    }
    const writers = await seedWriteTargets(
      adminDatabaseUrl,
      probes.slice(opts.readers),
      opts.poolSize,
      (writer) => rowsUrls.get(writer.id) as string,
    );
    return { readers: probes.slice(0, opts.readers), writers, drop };
  } catch (err) {
    await drop().catch(() => {});
    throw err;
  }
}

/**
 * The tenant's mirror row and clusters in its database (through `ownerUrl`), then its sealed
 * `tenant_databases` row and pointer in the control database, in one transaction: a tenant
 * whose database is not ready is never pointed at it.
 */
async function place(
  controlUrl: string,
  ownerUrl: string,
  masterKey: string,
  tenantId: string,
  database: { ref: string; connectionString: string },
): Promise<void> {
  const databaseId = crypto.randomUUID();
  const sealed = await sealConnection(masterKey, { tenantId, databaseId }, database.connectionString);
  await withClient(controlUrl, async (control) => {
    const { rows } = await control.query<{ slug: string; name: string; plan: string; status: string }>(
      "select slug, name, plan, status from tenants where id = $1",
      [tenantId],
    );
    const tenant = rows[0];
    if (!tenant) throw new Error(`no tenant ${tenantId} to place`);
    await withClient(ownerUrl, async (own) => {
      await own.query(
        `insert into tenants (id, slug, name, plan, status, isolation, region, database_id)
         values ($1, $2, $3, $4, $5, 'dedicated', $6, $7)`,
        [tenantId, tenant.slug, tenant.name, tenant.plan, tenant.status, REGION, databaseId],
      );
      await seedClusters(own, tenantId);
    });
    await control.query("begin");
    await control.query(
      `insert into tenant_databases (id, tenant_id, provider, ref, region, connection_sealed, status)
       values ($1, $2, 'local', $3, $4, $5, 'ready')`,
      [databaseId, tenantId, database.ref, REGION, sealed],
    );
    await control.query(
      "update tenants set isolation = 'dedicated', region = $2, database_id = $3 where id = $1",
      [tenantId, REGION, databaseId],
    );
    await control.query("commit");
  });
}
