/**
 * The tenancy rules (docs/architecture.md), in the order that keeps them non-enumerable: selectors are
 * read and must agree (400 `tenant_conflict`), a credential for another tenant is refused
 * before anything is said about the selected tenant (403 `tenant_mismatch`), and only then
 * does existence (404 `tenant_not_found`, one body for unknown and deleted) or status
 * (403 `tenant_suspended`) show.
 */
import { sql } from "drizzle-orm";
import { type HttpDatabase, readAsSystem } from "../../db/client";
import { type Role, tenants } from "../../db/schema";
import { Problem } from "../../lib/problem";
import type { CredentialTenant, Principal } from "../access/principal";
import {
  cachedUserAccess,
  currentAccess,
  rememberUserAccess,
  type UserAccess,
  userAccessQuery,
} from "../access/user-access";
import {
  cachedTenant,
  findTenant,
  parseTenantKey,
  RESERVED_SLUGS,
  type ResolvedTenant,
  rememberTenant,
  SLUG,
  sameTenantKey,
  type TenantKey,
  tenantQuery,
  tenantWhere,
} from "./tenant-directory";

export interface Selectors {
  /** The single label left of BASE_DOMAIN in the Host, if any. */
  subdomain?: string;
  /** The raw `X-Tenant-ID` header. */
  header?: string;
  /** The `{id}` of `/tenants/{id}/…` routes, or a `?tenant=` query selector. */
  path?: string;
  /** The `{tenant}` of a `/t/{tenant}/api/…` URL. */
  prefix?: string;
}

export interface TenantDecision {
  tenant: ResolvedTenant;
  /** The caller's role in the tenant; `null` for a system admin who is not a member. */
  role: Role | null;
  isSystemAdmin: boolean;
}

/** Reads the tenant subdomain from a request host; reserved names and deeper hosts are not tenants. */
export function subdomainOf(host: string, baseDomain: string): string | undefined {
  const name = host.toLowerCase().replace(/:\d+$/, "").replace(/\.$/, "");
  const suffix = `.${baseDomain}`;
  if (!name.endsWith(suffix)) return undefined;
  const label = name.slice(0, -suffix.length);
  if (!SLUG.test(label) || RESERVED_SLUGS.has(label)) return undefined;
  return label;
}

export async function resolveTenant(
  http: HttpDatabase,
  principal: Principal,
  selectors: Selectors,
  opts: { readOnly: boolean; systemSeesDeleted?: boolean },
): Promise<TenantDecision> {
  const selected = await agreeOnSelector(http, selectors);
  const target = selected ?? credentialKey(principal);
  if (!target)
    throw new Problem("tenant_required", "Select a tenant with its subdomain or the X-Tenant-ID header.");

  const { tenant, access } =
    principal.kind === "user"
      ? await tenantWithUserAccess(http, target, principal)
      : { tenant: await findTenant(http, target), access: { isSystemAdmin: false, role: principal.role } };

  if (selected && !matchesCredential(selected, principal.tenant) && !access.isSystemAdmin) {
    throw new Problem("tenant_mismatch", "The credential belongs to another tenant.");
  }
  const visibleDeleted = opts.systemSeesDeleted === true && access.isSystemAdmin && opts.readOnly;
  if (!tenant || (tenant.status === "deleted" && !visibleDeleted))
    throw new Problem("tenant_not_found", "No such tenant.");
  if (tenant.status === "suspended" && !(access.isSystemAdmin && opts.readOnly)) {
    throw new Problem("tenant_suspended", "This tenant is suspended.");
  }
  const role = principal.kind === "api_key" ? principal.role : access.role;
  return { tenant, role, isSystemAdmin: access.isSystemAdmin };
}

/**
 * The tenant and the user's access to it. An isolate that knows neither (a cold one) reads
 * both in ONE round trip: the membership query looks the tenant up itself.
 */
async function tenantWithUserAccess(
  http: HttpDatabase,
  key: TenantKey,
  principal: Principal & { kind: "user" },
): Promise<{ tenant: ResolvedTenant | null; access: UserAccess }> {
  let tenant = cachedTenant(key);
  let access = tenant === undefined ? undefined : cachedUserAccess(principal.userId, tenant?.id ?? null);
  if (tenant === undefined || access === undefined) {
    // No tenant found: the subquery is null and matches no membership.
    const tenantId = sql`(select ${tenants.id} from ${tenants} where ${tenantWhere(key)})`;
    const [[row], [accessRow]] = await readAsSystem(http, (db) => [
      tenantQuery(db, key),
      userAccessQuery(db, principal.userId, tenantId),
    ]);
    tenant = row ?? null;
    rememberTenant(key, tenant);
    access = rememberUserAccess(principal.userId, tenant?.id ?? null, accessRow);
  }
  return { tenant, access: currentAccess(principal, access) };
}

/** All selectors present must name the same tenant; returns that one (or none). */
async function agreeOnSelector(http: HttpDatabase, selectors: Selectors): Promise<TenantKey | undefined> {
  const keys: TenantKey[] = [];
  if (selectors.path !== undefined) keys.push(parseSelector(selectors.path, "path"));
  if (selectors.prefix !== undefined) keys.push(parseSelector(selectors.prefix, "path"));
  if (selectors.subdomain !== undefined) keys.push({ slug: selectors.subdomain });
  if (selectors.header !== undefined) keys.push(parseSelector(selectors.header, "header"));
  const [first, ...rest] = keys;
  if (!first) return undefined;
  for (const other of rest) {
    if (sameTenantKey(first, other)) continue;
    const [a, b] = await Promise.all([findTenant(http, first), findTenant(http, other)]);
    if (!a || !b || a.id !== b.id) throw new Problem("tenant_conflict", "The tenant selectors disagree.");
  }
  return first;
}

function parseSelector(value: string, where: "path" | "header"): TenantKey {
  const key = parseTenantKey(value.trim());
  if (key) return key;
  if (where === "path") throw new Problem("tenant_not_found", "No such tenant.");
  throw new Problem("validation_failed", "X-Tenant-ID must be a tenant id (uuid) or slug.", {
    extensions: {
      errors: [{ path: "X-Tenant-ID", message: "Expected a uuid or a slug", code: "invalid_format" }],
    },
  });
}

/**
 * The tenant the credential names. An API key names it by slug (the slug is part of the key,
 * and verification read the tenant under it in the same trip); a token by id, since a slug
 * freed by a purge may later name another tenant.
 */
function credentialKey(principal: Principal): TenantKey | undefined {
  if (!principal.tenant) return undefined;
  return principal.kind === "api_key" ? { slug: principal.tenant.slug } : { id: principal.tenant.id };
}

/** A user token without a tenant claim has no credential tenant to contradict the selector. */
function matchesCredential(selected: TenantKey, tenant: CredentialTenant | null): boolean {
  if (!tenant) return true;
  return "id" in selected ? selected.id === tenant.id : selected.slug === tenant.slug;
}
