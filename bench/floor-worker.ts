/**
 * The benchmark's floor: a Worker that does only the unavoidable I/O of a tenant-scoped read —
 * one Neon-driver query (RLS setting + select, as one SQL-over-HTTP batch) and one Upstash
 * EVAL — with the same drivers and the same local stand-ins as the API, and nothing else.
 */
import { neon, neonConfig } from "@neondatabase/serverless";
import { Redis } from "@upstash/redis/cloudflare";

interface FloorEnv {
  DATABASE_URL: string;
  NEON_LOCAL_HTTP: string;
  UPSTASH_REDIS_REST_URL: string;
  UPSTASH_REDIS_REST_TOKEN: string;
  FLOOR_TENANT_ID: string;
}

const SCRIPT = "return redis.call('INCR', KEYS[1])";
let redis: Redis | undefined;

export default {
  async fetch(_request: Request, env: FloorEnv): Promise<Response> {
    neonConfig.fetchEndpoint = () => env.NEON_LOCAL_HTTP;
    redis ??= new Redis({
      url: env.UPSTASH_REDIS_REST_URL,
      token: env.UPSTASH_REDIS_REST_TOKEN,
      enableTelemetry: false,
    });
    const sql = neon(env.DATABASE_URL);
    // In sequence, as the API must: the rate-limit decision comes before the read.
    await redis.eval(SCRIPT, [`floor:${env.FLOOR_TENANT_ID}`], []);
    const rows = await sql.transaction([
      sql`select set_config('app.tenant_id', ${env.FLOOR_TENANT_ID}, true)`,
      sql`select id, name, api_server_url, region, labels, created_at, updated_at from clusters
          where tenant_id = ${env.FLOOR_TENANT_ID} order by created_at, id limit 21`,
    ]);
    return Response.json({ data: rows[1] });
  },
};
