/**
 * Bulk seeding for the benchmark, straight into Postgres (not through the API): tenants with
 * 10 clusters each, and for the first batch a set of probe tenants with an admin user, a JWT
 * and an API key that the scenarios rotate through.
 */
import { SignJWT } from "jose";
import { withClient } from "../dev/migrate";
import { randomBase62, sha256Hex } from "../src/lib/encoding";

const PROBES = 20;
const CLUSTERS_PER_TENANT = 10;

export interface Probe {
  id: string;
  slug: string;
  jwt: string;
  apiKey: string;
}

/** Inserts `count` tenants after the first `offset`; returns probes for the first batch only. */
export async function seedTenants(
  adminUrl: string,
  jwtSecret: string,
  count: number,
  offset = 0,
): Promise<Probe[]> {
  return withClient(adminUrl, async (client) => {
    await client.query("begin");
    const { rows } = await client.query<{ id: string; slug: string }>(
      `with t as (
         insert into tenants (slug, name, plan, quota_overrides)
         select 'bench-' || lpad(g::text, 6, '0'), 'Bench ' || g, 'enterprise',
                '{"api_calls_per_hour": 1000000000, "clusters": 1000000000}'::jsonb
           from generate_series($1::int, $2::int) g
         returning id, slug
       ), c as (
         insert into clusters (tenant_id, name, api_server_url, region)
         select t.id, 'cluster-' || n, 'https://k8s-' || n || '.example', 'eu-west'
           from t cross join generate_series(1, $3::int) n
       )
       select id, slug from t order by slug limit $4`,
      [offset + 1, offset + count, CLUSTERS_PER_TENANT, offset === 0 ? PROBES : 0],
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
      const now = Math.floor(Date.now() / 1000);
      const jwt = await new SignJWT({
        tenant_id: tenant.id,
        tenant_slug: tenant.slug,
        role: "admin",
        is_system_admin: false,
      })
        .setProtectedHeader({ alg: "HS256", typ: "JWT" })
        .setIssuer("tenantry")
        .setAudience("tenantry-api")
        .setSubject(userId)
        .setIssuedAt(now)
        .setExpirationTime(now + 3600)
        .sign(new TextEncoder().encode(jwtSecret));
      probes.push({ id: tenant.id, slug: tenant.slug, jwt, apiKey });
    }
    await client.query("commit");
    return probes;
  });
}
