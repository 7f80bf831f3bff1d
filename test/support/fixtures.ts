/**
 * Test fixtures written straight to Postgres as the owner (bypassing RLS and the API), and
 * access tokens minted with the Worker's own signer, so each test sets up exactly what it needs.
 */
import { env, exports } from "cloudflare:workers";
import type { Pool } from "@neondatabase/serverless";
import type { Role } from "../../src/db/schema";
import { loadConfig } from "../../src/env";
import { signAccessToken } from "../../src/lib/jwt";
import { expectDocumented } from "./contract";
import { uniqueSlug } from "./db";

export interface TestTenant {
  id: string;
  slug: string;
}

export interface TestUser {
  id: string;
  email: string;
}

export async function createTenant(
  pool: Pool,
  opts: { slug?: string; status?: "active" | "suspended" | "deleted"; plan?: string } = {},
): Promise<TestTenant> {
  const slug = opts.slug ?? uniqueSlug();
  const { rows } = await pool.query<{ id: string }>(
    `insert into tenants (slug, name, status, plan, deleted_at, suspended_at)
     values ($1, $1, $2, $3, case when $2 = 'deleted' then now() end, case when $2 = 'suspended' then now() end)
     returning id`,
    [slug, opts.status ?? "active", opts.plan ?? "free"],
  );
  return { id: rows[0]?.id as string, slug };
}

export async function createUser(
  pool: Pool,
  opts: { isSystemAdmin?: boolean; passwordHash?: string | null } = {},
): Promise<TestUser> {
  const email = `${uniqueSlug("user")}@example.test`;
  const { rows } = await pool.query<{ id: string }>(
    "insert into users (email, name, password_hash, is_system_admin) values ($1, $1, $2, $3) returning id",
    [email, opts.passwordHash ?? null, opts.isSystemAdmin ?? false],
  );
  return { id: rows[0]?.id as string, email };
}

export async function addMember(pool: Pool, tenant: TestTenant, user: TestUser, role: Role): Promise<void> {
  await pool.query("insert into tenant_memberships (tenant_id, user_id, role) values ($1, $2, $3)", [
    tenant.id,
    user.id,
    role,
  ]);
}

/** An access token exactly as login would issue it. */
export async function tokenFor(
  user: TestUser,
  tenant: TestTenant | null,
  opts: { isSystemAdmin?: boolean } = {},
) {
  return signAccessToken(loadConfig(env), {
    sub: user.id,
    tenant_id: tenant?.id ?? null,
    tenant_slug: tenant?.slug ?? null,
    role: null,
    is_system_admin: opts.isSystemAdmin ?? false,
    ver: 0,
    pwd_change: false,
  });
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** A request through the Worker's real fetch entry; its response must be what the OpenAPI document allows. */
export async function api(path: string, init: RequestInit & { host?: string } = {}): Promise<Response> {
  const { host, ...rest } = init;
  const url = `http://${host ?? "localhost"}${path}`;
  const res = await exports.default.fetch(url, rest);
  await expectDocumented(rest.method ?? "GET", url, res);
  return res;
}

export function jsonInit(method: string, body: unknown, headers: Record<string, string> = {}): RequestInit {
  return { method, headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) };
}

/** A tenant with one user per role, for tests that need a populated tenant. */
export async function tenantWithRoles(pool: Pool, opts: { plan?: string } = {}) {
  const tenant = await createTenant(pool, opts);
  const users = {} as Record<Role, TestUser & { token: string }>;
  for (const role of ["admin", "member", "viewer"] as const) {
    const user = await createUser(pool);
    await addMember(pool, tenant, user, role);
    users[role] = { ...user, token: await tokenFor(user, tenant) };
  }
  return { tenant, users };
}
