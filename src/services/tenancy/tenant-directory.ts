/**
 * Finds tenants by slug or id, with a 30-second per-isolate cache so that a cache hit costs
 * no database trip. The TTL bounds how long a suspension or deletion can go unnoticed.
 */
import { eq, type SQL, sql } from "drizzle-orm";
import { batchAsSystem, type HttpDatabase, type Queryable } from "../../db/client";
import {
  type IpAllowlistScope,
  type IsolationTier,
  type Plan,
  RESERVED_SLUG_NAMES,
  type TenantStatus,
  tenantDatabases,
  tenants,
  webhookEndpoints,
} from "../../db/schema";
import { AUTH_CACHE_TTL_MS, TtlCache } from "../../lib/ttl-cache";

export interface ResolvedTenant {
  id: string;
  slug: string;
  name: string;
  status: TenantStatus;
  plan: Plan;
  quotaOverrides: Record<string, number>;
  features: Record<string, boolean>;
  /** Normalised prefixes; empty when every address may call (`services/tenancy/ip-allowlist.ts`). */
  ipAllowlist: string[];
  ipAllowlistAppliesTo: IpAllowlistScope;
  /**
   * Whether it has an enabled webhook endpoint: only then can a write have written deliveries
   * for the request to send after its response (src/middleware/webhook-sweep.ts).
   */
  hasWebhooks: boolean;
  isolation: IsolationTier;
  region: string;
  /** The database its own rows live in (`tenant_databases`); null: the control database. */
  databaseId: string | null;
  /** That database's sealed connection string (databases/routing.ts opens it); null when shared. */
  databaseSealed: string | null;
  /** The move under way: the tenant is read-only meanwhile (409 `tenant_moving`). */
  moveId: string | null;
}

export type TenantKey = { id: string } | { slug: string };

/** A tenant id; a slug of this shape would be read as another tenant's id, so none may have it. */
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const SLUG = /^[a-z0-9](?:[a-z0-9-]{1,38}[a-z0-9])$/;
/** The reserved names (docs/architecture.md, "Tenancy rules"): never a slug (a CHECK in the schema too), never a tenant subdomain. */
export const RESERVED_SLUGS: ReadonlySet<string> = new Set(RESERVED_SLUG_NAMES);

/** `null` is cached too, so probing unknown slugs does not hammer the database. */
const cache = new TtlCache<ResolvedTenant | null>(AUTH_CACHE_TTL_MS);

/** Parses "uuid or slug"; anything else is not a tenant key at all. */
export function parseTenantKey(value: string): TenantKey | undefined {
  if (UUID.test(value)) return { id: value.toLowerCase() };
  if (SLUG.test(value)) return { slug: value };
  return undefined;
}

export function sameTenantKey(a: TenantKey, b: TenantKey): boolean {
  if ("id" in a && "id" in b) return a.id === b.id;
  if ("slug" in a && "slug" in b) return a.slug === b.slug;
  return false;
}

export async function findTenant(http: HttpDatabase, key: TenantKey): Promise<ResolvedTenant | null> {
  return cache.getOrLoad(cacheKeyOf(key), async () => {
    const [row] = await batchAsSystem(http, (db) => tenantQuery(db, key));
    return row ?? null;
  });
}

/** The tenant row resolution needs, unsent: for a batch that resolves more in the same trip. */
export function tenantQuery(db: Queryable, key: TenantKey) {
  return db
    .select({
      id: tenants.id,
      slug: tenants.slug,
      name: tenants.name,
      status: tenants.status,
      plan: tenants.plan,
      quotaOverrides: tenants.quotaOverrides,
      features: tenants.features,
      ipAllowlist: tenants.ipAllowlist,
      ipAllowlistAppliesTo: tenants.ipAllowlistAppliesTo,
      // Qualified by hand: in a one-table select drizzle writes `tenants.id` as a bare "id",
      // which inside the subquery would be the endpoint's own id. A dedicated tenant's endpoints
      // live in its own database, which this trip does not reach: its flag says.
      hasWebhooks: sql<boolean>`(case when ${tenants}.database_id is null then exists (select 1 from ${webhookEndpoints} e where e.tenant_id = ${tenants}.id and e.enabled) else ${tenants}.has_webhooks end)`,
      isolation: tenants.isolation,
      region: tenants.region,
      databaseId: tenants.databaseId,
      databaseSealed: sql<
        string | null
      >`(select d.connection_sealed from ${tenantDatabases} d where d.id = ${tenants}.database_id)`,
      moveId: tenants.moveId,
    })
    .from(tenants)
    .where(tenantWhere(key))
    .limit(1);
}

export function tenantWhere(key: TenantKey): SQL {
  return "id" in key ? eq(tenants.id, key.id) : eq(tenants.slug, key.slug);
}

/** What this isolate knows of the tenant: the row, `null` (known not to exist) or `undefined`. */
export function cachedTenant(key: TenantKey): ResolvedTenant | null | undefined {
  return cache.get(cacheKeyOf(key));
}

/**
 * Remembers a tenant read elsewhere in a batch, under the key it was read by: one store
 * whether or not it exists, so the cache work does not tell a tenant from none.
 */
export function rememberTenant(key: TenantKey, row: ResolvedTenant | null): void {
  cache.set(cacheKeyOf(key), row);
}

const cacheKeyOf = (key: TenantKey) => ("id" in key ? `id:${key.id}` : `slug:${key.slug}`);

/** After a change this isolate made itself, there is no reason to wait out the TTL. */
export function forgetTenant(tenant: { id: string; slug: string }): void {
  cache.delete(`id:${tenant.id}`);
  cache.delete(`slug:${tenant.slug}`);
}

/**
 * After a change this isolate committed itself: the row it wrote back is the tenant as it
 * now is, so the next request here needs no trip to learn it.
 */
export function refreshTenant(row: Omit<ResolvedTenant, "hasWebhooks" | "databaseSealed">): void {
  const known = cache.get(`id:${row.id}`);
  // A write never moves a tenant; should the database differ, the next request reads it all.
  if (!known || known.databaseId !== row.databaseId) {
    forgetTenant(row);
    return;
  }
  // The row written back does not say; what this isolate knew does.
  const { hasWebhooks, databaseSealed } = known;
  const fresh: ResolvedTenant = {
    id: row.id,
    slug: row.slug,
    name: row.name,
    status: row.status,
    plan: row.plan,
    quotaOverrides: row.quotaOverrides,
    features: row.features,
    ipAllowlist: row.ipAllowlist,
    ipAllowlistAppliesTo: row.ipAllowlistAppliesTo,
    hasWebhooks,
    isolation: row.isolation,
    region: row.region,
    databaseId: row.databaseId,
    databaseSealed,
    moveId: row.moveId,
  };
  cache.set(`id:${row.id}`, fresh);
  cache.set(`slug:${row.slug}`, fresh);
}

export function clearTenantCache(): void {
  cache.clear();
}
