import { z } from "@hono/zod-openapi";
import { jsonContent } from "../../lib/openapi";
import { PageQuery, pageOf } from "../../lib/pagination";
import { QUOTAS } from "../../services/tenancy/plans";
import { defineRoute } from "../route-table";
import { TenantIdParam, tenantSecurity } from "../schemas";

const QuotaUsageSchema = z.object({
  limit: z.number().int(),
  used: z
    .number()
    .int()
    .nullable()
    .openapi({ description: "null where use is tracked by the cluster, not the API" }),
});

export const UsageSchema = z
  .object({
    tenant_id: z.uuid(),
    quotas: z.object(
      Object.fromEntries(QUOTAS.map((q) => [q, QuotaUsageSchema])) as Record<
        (typeof QUOTAS)[number],
        typeof QuotaUsageSchema
      >,
    ),
    requests_per_hour: z
      .array(z.object({ hour: z.iso.datetime(), requests: z.number().int() }))
      .openapi({ description: "Requests of the last 24 hours, per hour, oldest first (from the metrics)" }),
  })
  .openapi("TenantUsage");

export const usage = defineRoute({
  access: { kind: "tenant", role: "viewer", tenantParam: "id" },
  method: "get",
  path: "/api/v1/tenants/{id}/usage",
  operationId: "getTenantUsage",
  summary: "Every quota of the tenant with its limit and current use",
  tags: ["tenants"],
  security: tenantSecurity,
  request: { params: TenantIdParam },
  responses: { 200: jsonContent(UsageSchema, "Usage") },
});

const count = (description: string) => z.number().int().nonnegative().openapi({ description });
const snapshot = (description: string) =>
  z
    .number()
    .nonnegative()
    .nullable()
    .openapi({ description: `${description}; null: no snapshot that day` });

export const UsageDaySchema = z
  .object({
    day: z.iso.date().openapi({ description: "The UTC day" }),
    api_calls: count("Every request of the tenant answered that day (the sum of the four classes)"),
    api_calls_2xx: count("Requests answered 2xx"),
    api_calls_3xx: count("Requests answered 3xx"),
    api_calls_4xx: count("Requests answered 4xx (rate-limited and quota-denied ones included)"),
    api_calls_5xx: count("Requests answered 5xx"),
    rate_limited: count("Requests refused 429 `rate_limited`"),
    quota_denied: count("Creates refused 429 `quota_exceeded`"),
    credential_reveals: count("Credential reveals (each one audited)"),
    members: snapshot("Members, pending invitations included (as the members quota counts them)"),
    api_keys: snapshot("API keys not revoked"),
    clusters: snapshot("Clusters"),
    plugins: snapshot("Plugins"),
    credentials: snapshot("Credentials"),
    quota_cpu_cores: snapshot("Namespace CPU cores quota in force"),
    quota_memory_gb: snapshot("Namespace memory quota in force (GiB)"),
    quota_storage_gb: snapshot("Namespace storage quota in force (GiB)"),
    quota_gpus: snapshot("Namespace GPU quota in force"),
    snapshot_at: z.iso
      .datetime()
      .nullable()
      .openapi({ description: "When the day's row counts and quota were taken (the day's last snapshot)" }),
  })
  .openapi("UsageDay");

export const TenantDailyUsageSchema = z
  .object({
    tenant_id: z.uuid(),
    from: z.iso.date(),
    to: z.iso.date(),
    days: z.array(UsageDaySchema).openapi({ description: "Every day from `from` to `to`, oldest first" }),
  })
  .openapi("TenantDailyUsage");

const DayRangeQuery = z.object({
  from: z.iso.date().optional().openapi({
    description: "First UTC day (YYYY-MM-DD), included; default: 29 days before `to`",
    example: "2026-11-01",
  }),
  to: z.iso
    .date()
    .optional()
    .openapi({ description: "Last UTC day, included; default: today (UTC)", example: "2026-11-30" }),
});

const CSV_COLUMNS_NOTE =
  "CSV (RFC 4180, header row, CRLF): `tenant_id`, then every field of `UsageDay` in its order, one record per tenant and day; an empty field is null.";

const csvContent = {
  "text/csv": {
    schema: z.string().openapi({
      description: CSV_COLUMNS_NOTE,
      example:
        "tenant_id,day,api_calls,api_calls_2xx,api_calls_3xx,api_calls_4xx,api_calls_5xx,rate_limited,quota_denied,credential_reveals,members,api_keys,clusters,plugins,credentials,quota_cpu_cores,quota_memory_gb,quota_storage_gb,quota_gpus,snapshot_at\r\n" +
        "0193a5d2-7c1e-7b7a-9f4e-2d9c1b8e4a10,2026-11-30,12,10,0,2,0,1,1,0,3,1,0,0,1,64,256,1000,4,2026-11-30T23:55:00.000Z\r\n",
    }),
  },
};

const RANGE_RULES =
  "The range is `from`..`to`, both included (default: the last 30 days, today included); `from` after `to`, " +
  "or a range of more than 400 days (the days kept), is 400 `validation_failed`. Every day of the range is " +
  "present: a day without activity has zero counters. Counters come from the same events as `/metrics`, " +
  "rolled into Postgres every five minutes, so today's figures lag by up to five minutes; row counts and " +
  "the namespace quota are that day's last snapshot (null before the first). Send `Accept: text/csv` for CSV.";

export const daily = defineRoute({
  access: { kind: "tenant", role: "admin", tenantParam: "id" },
  method: "get",
  path: "/api/v1/tenants/{id}/usage/daily",
  operationId: "getTenantDailyUsage",
  summary: "The tenant's usage per UTC day, for cost attribution (JSON, or CSV)",
  description: RANGE_RULES,
  tags: ["tenants"],
  security: tenantSecurity,
  request: { params: TenantIdParam, query: DayRangeQuery },
  responses: {
    200: {
      description: "The tenant's days",
      content: { "application/json": { schema: TenantDailyUsageSchema }, ...csvContent },
    },
  },
});

export const dailyAll = defineRoute({
  access: { kind: "system" },
  method: "get",
  path: "/api/v1/usage/daily",
  operationId: "listDailyUsage",
  summary: "Every tenant's usage per UTC day, a page of tenants at a time (JSON, or CSV)",
  description:
    `${RANGE_RULES} Lists every tenant with a row in the range (deleted tenants too, until purged), ` +
    "`limit` tenants per page in creation order. As CSV, the next page is named by a `Link` header " +
    '(`rel="next"`) instead of `next_cursor`.',
  tags: ["tenants"],
  security: [{ bearerJwt: [] }],
  request: { query: PageQuery.extend(DayRangeQuery.shape) },
  responses: {
    200: {
      description: "A page of tenants with their days",
      headers: z.object({
        link: z
          .string()
          .optional()
          .openapi({ description: 'CSV only: `<…&cursor=…>; rel="next"` when more tenants follow' }),
      }),
      content: {
        "application/json": { schema: pageOf(TenantDailyUsageSchema, "TenantDailyUsagePage") },
        ...csvContent,
      },
    },
  },
});
