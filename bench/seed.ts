/**
 * Bulk seeding for the benchmark, straight into Postgres (not through the API): tenants with
 * 10 clusters each; for the first tenants, probes (an admin user with a JWT and an API key)
 * that the scenarios rotate through; and for the write scenarios, rows to patch, members
 * whose role to change and pools of rows to delete, one per request. Identity rows (tenants,
 * users, memberships, API keys) go to the control database; the tenant's own rows (clusters,
 * plugins, credentials) to the database that holds them (bench/seed-dedicated.ts).
 */

import { COUNT_QUOTAS } from "@tenantry/contract";
import { SignJWT } from "jose";
import type pg from "pg";
import { withClient } from "../dev/migrate";
import { randomBase62, sha256Hex } from "../src/lib/encoding";

const CLUSTERS_PER_TENANT = 10;
const MEMBERS_PER_WRITER = 4;
/** No quota or hourly budget gets in a benchmark's way. */
const UNLIMITED = 1_000_000_000;
const QUOTA_OVERRIDES = JSON.stringify(
  Object.fromEntries([...COUNT_QUOTAS, "api_calls_per_hour"].map((quota) => [quota, UNLIMITED])),
);

export interface Probe {
  id: string;
  slug: string;
  jwt: string;
  apiKey: string;
}

/** What the write scenarios of one tenant act on. */
export interface WriteTarget {
  probe: Probe;
  clusterId: string;
  pluginId: string;
  memberIds: string[];
  pools: Record<PoolKind, string[]>;
}

export const POOL_KINDS = ["cluster", "plugin", "credential", "api_key"] as const;
export type PoolKind = (typeof POOL_KINDS)[number];

/**
 * Inserts `count` tenants `<prefix><n>` (prefix `bench-`) after the first `offset`, and returns
 * probes for the first `probes` of them (none when seeding more tenants for the scale
 * comparison). With `clusters: false` their clusters are left to `seedClusters` in their own database.
 */
export async function seedTenants(
  adminUrl: string,
  jwtSecret: string,
  count: number,
  opts: { offset?: number; probes?: number; prefix?: string; clusters?: boolean } = {},
): Promise<Probe[]> {
  const offset = opts.offset ?? 0;
  return withClient(adminUrl, async (client) => {
    await client.query("begin");
    const { rows } = await client.query<{ id: string; slug: string }>(
      `with t as (
         insert into tenants (slug, name, plan, quota_overrides)
         select $6 || lpad(g::text, 6, '0'), 'Bench ' || g, 'enterprise', $5::jsonb
           from generate_series($1::int, $2::int) g
         returning id, slug
       ), c as (${insertClusters("t", "$3::int")})
       select id, slug from t order by slug limit $4`,
      [
        offset + 1,
        offset + count,
        opts.clusters === false ? 0 : CLUSTERS_PER_TENANT,
        opts.probes ?? 0,
        QUOTA_OVERRIDES,
        opts.prefix ?? "bench-",
      ],
    );
    const probes: Probe[] = [];
    for (const tenant of rows) {
      const user = await client.query<{ id: string }>(
        "insert into users (email, name) values ($1, 'bench') returning id",
        [`probe@${tenant.slug}.bench`],
      );
      const userId = user.rows[0]?.id as string;
      await client.query(
        "insert into tenant_memberships (tenant_id, user_id, role) values ($1, $2, 'admin')",
        [tenant.id, userId],
      );
      // The API's key format (`uk_<slug>_<secret>`, prefix = slug + 8 secret chars, SHA-256 stored).
      const secret = randomBase62(40);
      const apiKey = `uk_${tenant.slug}_${secret}`;
      await client.query(
        "insert into api_keys (tenant_id, name, role, prefix, key_hash) values ($1, 'bench', 'admin', $2, $3)",
        [tenant.id, `uk_${tenant.slug}_${secret.slice(0, 8)}`, await sha256Hex(apiKey)],
      );
      const jwt = await signAccessToken(jwtSecret, {
        sub: userId,
        tenant_id: tenant.id,
        tenant_slug: tenant.slug,
        role: "admin",
        is_system_admin: false,
      });
      probes.push({ id: tenant.id, slug: tenant.slug, jwt, apiKey });
    }
    await client.query("commit");
    return probes;
  });
}

/** A dedicated tenant's clusters, as `seedTenants` gives a shared one, through its database's owner. */
export async function seedClusters(client: pg.ClientBase, tenantId: string): Promise<void> {
  await client.query(insertClusters("(select $1::uuid as id)", "$2::int"), [tenantId, CLUSTERS_PER_TENANT]);
}

/**
 * For each writer tenant: a plugin to patch (clusters it already has), members to change the
 * role of, and `poolSize` clusters, plugins, credentials (placeholder ciphertext: deleting
 * never decrypts) and API keys for the delete scenarios to remove one by one. `rowsUrl` names
 * the database of a writer's own rows (default: the control database, `adminUrl`).
 */
export async function seedWriteTargets(
  adminUrl: string,
  writers: Probe[],
  poolSize: number,
  rowsUrl: (writer: Probe) => string = () => adminUrl,
): Promise<WriteTarget[]> {
  return withClient(adminUrl, async (control) => {
    await control.query("begin");
    const targets: WriteTarget[] = [];
    for (const probe of writers) {
      const url = rowsUrl(probe);
      targets.push(
        url === adminUrl
          ? await seedWriteTarget(control, control, probe, poolSize)
          : await withClient(url, (rows) => seedWriteTarget(control, rows, probe, poolSize)),
      );
    }
    await control.query("commit");
    return targets;
  });
}

/** One writer's targets: identity rows through `control`, its own rows through `rows`. */
async function seedWriteTarget(
  control: pg.ClientBase,
  rows: pg.ClientBase,
  probe: Probe,
  poolSize: number,
): Promise<WriteTarget> {
  const ids = async (client: pg.ClientBase, text: string, values: unknown[]) =>
    (await client.query<{ id: string }>(text, values)).rows.map((row) => row.id);
  const tenant = probe.id;
  const [clusterId] = await ids(rows, "select id from clusters where tenant_id = $1 order by name limit 1", [
    tenant,
  ]);
  const [pluginId] = await ids(
    rows,
    "insert into plugins (tenant_id, name, version) values ($1, 'patch-me', '1.0.0') returning id",
    [tenant],
  );
  const memberIds = await ids(
    control,
    `with u as (
       insert into users (email, name)
       select 'member-' || n || '@' || $2 || '.bench', 'bench member' from generate_series(1, $3::int) n
       returning id
     ), m as (insert into tenant_memberships (tenant_id, user_id, role) select $1, id, 'member' from u)
     select id from u`,
    [tenant, probe.slug, MEMBERS_PER_WRITER],
  );
  const series = "generate_series(1, $2::int) n";
  const pools: Record<PoolKind, string[]> = {
    cluster: await ids(
      rows,
      `insert into clusters (tenant_id, name, api_server_url, region)
       select $1, 'pool-' || n, 'https://pool.example', 'eu-west' from ${series} returning id`,
      [tenant, poolSize],
    ),
    plugin: await ids(
      rows,
      `insert into plugins (tenant_id, name, version) select $1, 'pool-' || n, '1.0.0' from ${series} returning id`,
      [tenant, poolSize],
    ),
    credential: await ids(
      rows,
      `insert into credentials (tenant_id, name, kind, ciphertext, iv)
       select $1, 'pool-' || n, 'token', 'AA==', 'AA==' from ${series} returning id`,
      [tenant, poolSize],
    ),
    api_key: await ids(
      control,
      `insert into api_keys (tenant_id, name, role, prefix, key_hash)
       select $1, 'pool-' || n, 'viewer', 'uk_' || $3 || '_p' || lpad(n::text, 7, '0'), md5(random()::text) || md5(random()::text)
         from ${series} returning id`,
      [tenant, poolSize, probe.slug],
    ),
  };
  if (!clusterId || !pluginId) throw new Error(`writer ${probe.slug} has nothing to patch`);
  return { probe, clusterId, pluginId, memberIds, pools };
}

/** A token of the shape the API issues (HS256, issuer and audience of the bench's Worker). */
export async function signAccessToken(
  jwtSecret: string,
  claims: {
    sub: string;
    tenant_id: string | null;
    tenant_slug: string | null;
    role: string | null;
    is_system_admin: boolean;
  },
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const { sub, ...rest } = claims;
  return new SignJWT(rest)
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuer("tenantry")
    .setAudience("tenantry-api")
    .setSubject(sub)
    .setIssuedAt(now)
    .setExpirationTime(now + 3600)
    .sign(new TextEncoder().encode(jwtSecret));
}

/** Inserts `perTenant` clusters `cluster-<n>` for each row of `tenants` (a relation with an `id`). */
function insertClusters(tenants: string, perTenant: string): string {
  return `insert into clusters (tenant_id, name, api_server_url, region)
    select t.id, 'cluster-' || n, 'https://k8s-' || n || '.example', 'eu-west'
      from ${tenants} t cross join generate_series(1, ${perTenant}) n`;
}
