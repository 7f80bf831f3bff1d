import { env } from "cloudflare:workers";
import { Pool } from "@neondatabase/serverless";
import { configureDriver } from "../../src/db/client";

/**
 * Direct connections for fixtures and assertions, through the same driver and proxy the
 * Worker uses. `admin` is the owner (superuser, bypasses RLS); `app` is the runtime role.
 */
export function pools() {
  configureDriver({ NEON_LOCAL_PROXY: env.NEON_LOCAL_PROXY });
  const admin = new Pool({ connectionString: env.TEST_ADMIN_DATABASE_URL, max: 2 });
  const app = new Pool({ connectionString: env.DATABASE_URL, max: 2 });
  for (const pool of [admin, app]) pool.on("error", () => {});
  return {
    admin,
    app,
    end: async () => {
      await Promise.all([admin.end(), app.end()]);
    },
  };
}

let counter = 0;
/** A slug unique to this run, so tests never collide on the unique index. */
export function uniqueSlug(prefix = "t"): string {
  counter += 1;
  return `${prefix}-${Date.now().toString(36)}-${counter}-${Math.random().toString(36).slice(2, 6)}`;
}

export async function insertTenant(pool: Pool, slug = uniqueSlug()): Promise<string> {
  const { rows } = await pool.query<{ id: string }>(
    "insert into tenants (slug, name) values ($1, $1) returning id",
    [slug],
  );
  return rows[0]?.id as string;
}
