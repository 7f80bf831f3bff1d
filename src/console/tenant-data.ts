/**
 * What the tenant page shows, loaded through the API in parallel. The tenant itself must load
 * (its failure is the page's failure: 403, 404); every other section may fail on its own —
 * a member without the admin role still sees members and usage, and is told why the API
 * keys and the daily usage are not shown.
 */
import { clock } from "../lib/clock";
import { type ApiClient, type ApiResult, inTenant, resultOf } from "./api-client";
import type {
  ApiKey,
  AuditEvent,
  Invitation,
  Member,
  Page,
  ProvisioningJob,
  Tenant,
  TenantDailyUsage,
  Usage,
} from "./api-types";
import { type FriendlyProblem, friendly } from "./messages";

export type Section<T> = { ok: true; data: T } | { ok: false; problem: FriendlyProblem };

export interface TenantDetail {
  tenant: Tenant;
  usage: Section<Usage>;
  /** API calls per day, the last 30 days (tenant admins and system admins). */
  daily: Section<TenantDailyUsage>;
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
  const headers = inTenant(slug);
  const path = { id: slug };
  const tenant = await resultOf(api.GET("/api/v1/tenants/{id}", { params: { path }, headers }));
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
        daily: gone,
        members: gone,
        invitations: gone,
        apiKeys: gone,
        jobs,
        events: gone,
      },
    };
  }
  const since = new Date(clock.now() - DAY_MS).toISOString();
  const [usage, daily, members, invitations, apiKeys, jobs, events] = await Promise.all([
    resultOf(api.GET("/api/v1/tenants/{id}/usage", { params: { path }, headers })),
    resultOf(api.GET("/api/v1/tenants/{id}/usage/daily", { params: { path }, headers })),
    loadAll((query) => api.GET("/api/v1/members", { params: { query }, headers })),
    loadAll((query) => api.GET("/api/v1/invitations", { params: { query }, headers })),
    loadApiKeys(api, slug),
    loadProvisioning(api, slug),
    loadAll((query) => api.GET("/api/v1/audit-events", { params: { query: { ...query, since } }, headers })),
  ]);
  return {
    ok: true,
    detail: {
      tenant: tenant.data,
      usage: section(usage),
      daily: section(daily),
      members: section(members),
      invitations: section(invitations),
      apiKeys: section(apiKeys),
      jobs: section(jobs),
      events: section(events),
    },
  };
}

export function loadProvisioning(api: ApiClient, slug: string): Promise<ApiResult<ProvisioningJob[]>> {
  return loadAll((query) =>
    api.GET("/api/v1/tenants/{id}/provisioning", {
      params: { path: { id: slug }, query },
      headers: inTenant(slug),
    }),
  );
}

export function loadApiKeys(api: ApiClient, slug: string): Promise<ApiResult<ApiKey[]>> {
  return loadAll((query) => api.GET("/api/v1/api-keys", { params: { query }, headers: inTenant(slug) }));
}

/** Follows `next_cursor` for up to MAX_PAGES pages of a list endpoint (`page` makes one call). */
export async function loadAll<T>(
  page: (query: {
    limit: number;
    cursor?: string;
  }) => Promise<{ data?: Page<T>; error?: unknown; response: Response }>,
): Promise<ApiResult<T[]>> {
  const items: T[] = [];
  let cursor: string | undefined;
  for (let pages = 0; pages < MAX_PAGES; pages++) {
    const answer = await resultOf(page({ limit: PAGE_SIZE, cursor }));
    if (!answer.ok) return answer;
    const next = answer.data;
    items.push(...next.data);
    if (!next.next_cursor) break;
    cursor = next.next_cursor;
  }
  return { ok: true, status: 200, data: items };
}
