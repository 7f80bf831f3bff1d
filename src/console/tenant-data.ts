/**
 * What the tenant page shows, loaded through the API in parallel. The tenant itself must load
 * (its failure is the page's failure: 403, 404); every other section may fail on its own —
 * a member without the admin role still sees members and usage, and is told why the API
 * keys are not shown.
 */
import { clock } from "../lib/clock";
import { type ApiClient, type ApiResult, withQuery } from "./api-client";
import type {
  ApiKey,
  AuditEvent,
  Invitation,
  Member,
  Page,
  ProvisioningJob,
  Tenant,
  Usage,
} from "./api-types";
import { type FriendlyProblem, friendly } from "./messages";

export type Section<T> = { ok: true; data: T } | { ok: false; problem: FriendlyProblem };

export interface TenantDetail {
  tenant: Tenant;
  usage: Section<Usage>;
  members: Section<Member[]>;
  invitations: Section<Invitation[]>;
  apiKeys: Section<ApiKey[]>;
  jobs: Section<ProvisioningJob[]>;
  /** The last 24 hours of the audit trail, oldest first. */
  events: Section<AuditEvent[]>;
}

const PAGE_SIZE = 100;
/** Enough for any tenant page; the chart says what it counts, the lists say when they are cut. */
const MAX_PAGES = 5;
const DAY_MS = 24 * 3_600_000;

export function section<T>(result: ApiResult<T>): Section<T> {
  return result.ok
    ? { ok: true, data: result.data }
    : { ok: false, problem: friendly(result.problem, result.retryAfter) };
}

export async function loadTenantDetail(
  api: ApiClient,
  slug: string,
): Promise<{ ok: true; detail: TenantDetail } | Extract<ApiResult<Tenant>, { ok: false }>> {
  const tenantPath = `/api/v1/tenants/${encodeURIComponent(slug)}`;
  const tenant = await api.get<Tenant>(tenantPath, { tenant: slug });
  if (!tenant.ok) return tenant;
  if (tenant.data.status === "deleted") {
    // Only its provisioning (the coming deprovision) is still readable, by system admins.
    const gone: Section<never> = {
      ok: false,
      problem: { title: "Deleted", message: "Restore the tenant to see this.", fields: [] },
    };
    const jobs = section(await loadProvisioning(api, slug));
    return {
      ok: true,
      detail: {
        tenant: tenant.data,
        usage: gone,
        members: gone,
        invitations: gone,
        apiKeys: gone,
        jobs,
        events: gone,
      },
    };
  }
  const opts = { tenant: slug };
  const since = new Date(clock.now() - DAY_MS).toISOString();
  const [usage, members, invitations, apiKeys, jobs, events] = await Promise.all([
    api.get<Usage>(`${tenantPath}/usage`, opts),
    loadAll<Member>(api, "/api/v1/members", opts),
    loadAll<Invitation>(api, "/api/v1/invitations", opts),
    loadAll<ApiKey>(api, "/api/v1/api-keys", opts),
    loadProvisioning(api, slug),
    loadAll<AuditEvent>(api, "/api/v1/audit-events", opts, { since }),
  ]);
  return {
    ok: true,
    detail: {
      tenant: tenant.data,
      usage: section(usage),
      members: section(members),
      invitations: section(invitations),
      apiKeys: section(apiKeys),
      jobs: section(jobs),
      events: section(events),
    },
  };
}

export function loadProvisioning(api: ApiClient, slug: string): Promise<ApiResult<ProvisioningJob[]>> {
  return loadAll<ProvisioningJob>(api, `/api/v1/tenants/${encodeURIComponent(slug)}/provisioning`, {
    tenant: slug,
  });
}

/** Follows `next_cursor` for up to MAX_PAGES pages of a list endpoint. */
export async function loadAll<T>(
  api: ApiClient,
  path: string,
  opts: { tenant: string },
  filters: Record<string, string> = {},
): Promise<ApiResult<T[]>> {
  const items: T[] = [];
  let cursor: string | undefined;
  for (let pages = 0; pages < MAX_PAGES; pages++) {
    const page = await api.get<Page<T>>(withQuery(path, { ...filters, limit: PAGE_SIZE, cursor }), opts);
    if (!page.ok) return page;
    items.push(...page.data.data);
    if (!page.data.next_cursor) break;
    cursor = page.data.next_cursor;
  }
  return { ok: true, status: 200, data: items };
}
