import { z } from "@hono/zod-openapi";
import {
  IP_ALLOWLIST_SCOPES,
  ISOLATION_TIERS,
  MAX_IP_ALLOWLIST,
  MOVE_STATUSES,
  PLANS,
  TENANT_STATUSES,
} from "../../db/schema";
import { REGION_NAME } from "../../env";
import { parseCidr } from "../../lib/cidr";
import { jsonContent, jsonRequest } from "../../lib/openapi";
import { PageQuery, pageOf } from "../../lib/pagination";
import {
  FEATURES,
  MAX_NAMESPACE_AMOUNT,
  NAMESPACE_QUOTAS,
  QUOTAS,
  type Quota,
} from "../../services/tenancy/plans";
import { RESERVED_SLUGS, SLUG, UUID } from "../../services/tenancy/tenant-directory";
import { NewApiKeySchema } from "../api-keys/api-keys.routes";
import { defineRoute } from "../route-table";
import { TenantIdParam, tenantSecurity } from "../schemas";

const PlanSchema = z.enum(PLANS);
const StatusSchema = z.enum(TENANT_STATUSES);
const MAX_SETTINGS_BYTES = 16 * 1024;

/** A region's shape; whether it is one of REGIONS is the deployment's to say (400 otherwise). */
const RegionSchema = z.string().regex(REGION_NAME).openapi({ example: "eu-central" });

const SlugSchema = z
  .string()
  .regex(SLUG, "3–40 lowercase letters, digits and inner hyphens")
  .refine((s) => !UUID.test(s), "A slug cannot look like a tenant id (uuid)")
  .refine((s) => !RESERVED_SLUGS.has(s), "This slug is reserved");

/** A namespace quota goes to the provisioner with every job, whose contract bounds it. */
function quotaMaximum(quota: Quota): number {
  return (NAMESPACE_QUOTAS as readonly string[]).includes(quota) ? MAX_NAMESPACE_AMOUNT : 1_000_000_000;
}

const QuotaOverridesSchema = z
  .object(
    Object.fromEntries(
      QUOTAS.map((q) => [q, z.number().int().min(0).max(quotaMaximum(q)).optional()]),
    ) as Record<(typeof QUOTAS)[number], z.ZodOptional<z.ZodNumber>>,
  )
  .strict()
  .openapi("QuotaOverrides");

const FeatureOverridesSchema = z
  .object(
    Object.fromEntries(FEATURES.map((f) => [f, z.boolean().optional()])) as Record<
      (typeof FEATURES)[number],
      z.ZodOptional<z.ZodBoolean>
    >,
  )
  .strict()
  .openapi("FeatureOverrides");

const SettingsSchema = z
  .record(z.string().max(100), z.unknown())
  .refine(
    (v) => JSON.stringify(v).length <= MAX_SETTINGS_BYTES,
    `settings must be at most ${MAX_SETTINGS_BYTES} bytes`,
  );

/** One prefix of an IP allowlist, answered in its normal form (`src/lib/cidr.ts`). */
const CidrSchema = z
  .string()
  .trim()
  .max(64)
  .transform((text, ctx) => {
    const parsed = parseCidr(text);
    if (parsed.ok) return parsed.cidr;
    ctx.addIssue({ code: "custom", message: parsed.message });
    return z.NEVER;
  })
  .openapi({
    description:
      "An IPv4 or IPv6 prefix (`203.0.113.0/24`, `2001:db8::/32`) or a bare address (/32, /128); host bits must be zero",
    example: "203.0.113.0/24",
  });

const AppliesToSchema = z.enum(IP_ALLOWLIST_SCOPES).openapi({
  description:
    "`api_keys`: the list gates the tenant's API keys; `all`: every tenant-scoped request (never login). System admins are exempt",
});

const IsolationSchema = z.enum(ISOLATION_TIERS).openapi({
  description:
    "`shared`: its rows live in the control database's shared tables, behind row-level security; `dedicated`: in a Postgres database of its own (enterprise plan)",
});

export const TenantSchema = z
  .object({
    id: z.uuid(),
    slug: z.string(),
    name: z.string(),
    status: StatusSchema,
    plan: PlanSchema,
    quota_overrides: z.record(z.string(), z.number()),
    features: z.record(z.string(), z.boolean()).openapi({ description: "Effective feature flags" }),
    feature_overrides: z.record(z.string(), z.boolean()),
    settings: z.record(z.string(), z.unknown()),
    ip_allowlist: z
      .array(z.string())
      .openapi({ description: "Normalised prefixes; empty: every address may call" }),
    ip_allowlist_applies_to: AppliesToSchema,
    isolation: IsolationSchema,
    region: z.string().openapi({ description: "Where its own rows live: one of the deployment's REGIONS" }),
    move_id: z.uuid().nullable().openapi({
      description:
        "The move between isolation tiers under way; the tenant is read-only meanwhile (409 `tenant_moving`)",
    }),
    suspended_at: z.iso.datetime().nullable(),
    suspend_reason: z.string().nullable(),
    deleted_at: z.iso.datetime().nullable(),
    purge_after: z.iso.datetime().nullable(),
    created_at: z.iso.datetime(),
    updated_at: z.iso.datetime(),
  })
  .openapi("Tenant");

export const MoveSchema = z
  .object({
    id: z.uuid(),
    tenant_id: z.uuid(),
    from: z.object({ isolation: IsolationSchema }),
    to: z.object({ isolation: IsolationSchema, region: z.string() }),
    status: z.enum(MOVE_STATUSES),
    attempts: z.number().int(),
    last_error: z.string().nullable(),
    report: z
      .record(z.string(), z.unknown())
      .nullable()
      .openapi({ description: "Row counts and content hashes per table, checked before the switch" }),
    copy_after: z.iso.datetime(),
    switched_at: z.iso.datetime().nullable(),
    completed_at: z.iso.datetime().nullable(),
    created_at: z.iso.datetime(),
  })
  .openapi("TenantMove");

const JobRefSchema = z.object({ id: z.uuid(), kind: z.string(), status: z.string() }).openapi("JobRef");

const CreateBody = z
  .object({
    name: z.string().trim().min(1).max(100),
    slug: SlugSchema,
    plan: PlanSchema.default("free"),
    admin_email: z.email().max(254),
    quota_overrides: QuotaOverridesSchema.optional(),
    features: FeatureOverridesSchema.optional(),
    isolation: IsolationSchema.default("shared"),
    region: RegionSchema.optional(),
  })
  .strict()
  .openapi("CreateTenant");

export const CreatedTenantSchema = z
  .object({
    tenant: TenantSchema,
    admin: z.object({ user_id: z.uuid(), email: z.string(), temporary_password: z.string().optional() }),
    // The first admin's key is an API key like any other, its secret shown once.
    api_key: NewApiKeySchema,
    provisioning_job: JobRefSchema,
    move: MoveSchema.optional().openapi({
      description: "Created `dedicated`: the move into its own database",
    }),
  })
  .openapi("CreatedTenant");

const PatchBody = z
  .object({
    name: z.string().trim().min(1).max(100).optional(),
    settings: SettingsSchema.optional(),
    plan: PlanSchema.optional(),
    quota_overrides: QuotaOverridesSchema.optional(),
    features: FeatureOverridesSchema.optional(),
    status: z.enum(["active", "suspended"]).optional(),
    ip_allowlist: z
      .array(CidrSchema)
      .max(MAX_IP_ALLOWLIST)
      // Duplicates (after normalising) are stored once.
      .transform((list) => [...new Set(list)])
      .optional(),
    ip_allowlist_applies_to: AppliesToSchema.optional(),
    force: z.boolean().optional().openapi({
      description: "Apply an IP allowlist change even though it excludes the caller's own address",
    }),
  })
  .strict()
  .refine((b) => Object.keys(b).some((key) => key !== "force"), "Send at least one field")
  .refine(
    (b) => b.force === undefined || b.ip_allowlist !== undefined || b.ip_allowlist_applies_to !== undefined,
    { message: "force applies only to a change of ip_allowlist or ip_allowlist_applies_to", path: ["force"] },
  )
  .openapi("PatchTenant");

const MoveBody = z
  .object({
    isolation: IsolationSchema,
    region: RegionSchema.optional().openapi({
      description: "Dedicated only; defaults to the tenant's current region",
    }),
  })
  .strict()
  .openapi("MoveTenant");

const ListQuery = PageQuery.extend({
  status: StatusSchema.optional(),
  plan: PlanSchema.optional(),
  q: z.string().max(100).optional(),
});

const system = { kind: "system" } as const;
const adminSecurity: Array<Record<string, string[]>> = [{ bearerJwt: [] }];

export const create = defineRoute({
  access: system,
  method: "post",
  path: "/api/v1/tenants",
  operationId: "createTenant",
  summary: "Create a tenant with its first admin, an admin API key and a provisioning job",
  tags: ["tenants"],
  security: adminSecurity,
  request: { body: jsonRequest(CreateBody) },
  // The slug is taken, or the admin's account was created by another request meanwhile; or
  // `quota_overrides` leave no room for the first admin's API key (`api_keys: 0`).
  problems: ["slug_taken", "conflict", "quota_exceeded"],
  responses: { 201: jsonContent(CreatedTenantSchema, "Created; secrets are shown once") },
});

export const list = defineRoute({
  access: system,
  method: "get",
  path: "/api/v1/tenants",
  operationId: "listTenants",
  summary: "List tenants (system admins)",
  tags: ["tenants"],
  security: adminSecurity,
  request: { query: ListQuery },
  responses: { 200: jsonContent(pageOf(TenantSchema, "TenantPage"), "A page of tenants") },
});

export const getOne = defineRoute({
  access: { kind: "tenant", role: "viewer", tenantParam: "id", systemSeesDeleted: true },
  method: "get",
  path: "/api/v1/tenants/{id}",
  operationId: "getTenant",
  summary: "A tenant by uuid or slug",
  tags: ["tenants"],
  security: tenantSecurity,
  request: { params: TenantIdParam },
  responses: { 200: jsonContent(TenantSchema, "The tenant") },
});

export const patch = defineRoute({
  access: { kind: "tenant", role: "admin", tenantParam: "id" },
  method: "patch",
  path: "/api/v1/tenants/{id}",
  operationId: "patchTenant",
  summary:
    "Update a tenant: name, settings and IP allowlist (tenant admins); plan, quotas, features, status (system admins)",
  tags: ["tenants"],
  security: tenantSecurity,
  request: {
    params: TenantIdParam,
    body: jsonRequest(PatchBody),
  },
  // An allowlist that would refuse the caller's own address (without `force`); or the stored
  // allowlist changed between the check and the write.
  problems: ["ip_allowlist_excludes_caller", "conflict"],
  responses: { 200: jsonContent(TenantSchema, "Updated") },
});

export const suspend = defineRoute({
  access: system,
  method: "post",
  path: "/api/v1/tenants/{id}/suspend",
  operationId: "suspendTenant",
  summary: "Suspend a tenant: every tenant request answers 403 within 30 s; enqueues `suspend`",
  tags: ["tenants"],
  security: adminSecurity,
  request: {
    params: TenantIdParam,
    body: jsonRequest(
      z
        .object({ reason: z.string().trim().min(1).max(500) })
        .strict()
        .openapi("SuspendTenant"),
    ),
  },
  // System routes name their tenant in the path without resolving it as a selector.
  problems: ["tenant_not_found", "conflict", "tenant_moving"],
  responses: { 200: jsonContent(TenantSchema, "Suspended") },
});

/** Body-less lifecycle transitions of a tenant, by system admins. */
const transitionRoute = <N extends string>(name: N, summary: string) =>
  defineRoute({
    access: system,
    method: "post",
    path: `/api/v1/tenants/{id}/${name}` as `/api/v1/tenants/{id}/${N}`,
    operationId: `${name}Tenant`,
    summary,
    tags: ["tenants"],
    security: adminSecurity,
    request: { params: TenantIdParam },
    problems: ["tenant_not_found", "conflict", "tenant_moving"],
    responses: { 200: jsonContent(TenantSchema, "Done") },
  });

export const reactivate = transitionRoute("reactivate", "Reactivate a suspended tenant; enqueues `resume`");
export const restore = transitionRoute(
  "restore",
  "Restore a soft-deleted tenant within the retention period",
);

export const remove = defineRoute({
  access: system,
  method: "delete",
  path: "/api/v1/tenants/{id}",
  operationId: "deleteTenant",
  summary: "Soft-delete a tenant; it is purged after the retention period",
  tags: ["tenants"],
  security: adminSecurity,
  request: { params: TenantIdParam },
  problems: ["tenant_not_found", "default_tenant_protected", "tenant_moving"],
  responses: {
    202: jsonContent(
      z.object({
        id: z.uuid(),
        status: z.literal("deleted"),
        deleted_at: z.iso.datetime(),
        purge_after: z.iso.datetime(),
      }),
      "Deleted; purge scheduled",
    ),
  },
});

export const move = defineRoute({
  access: system,
  method: "post",
  path: "/api/v1/tenants/{id}/move",
  operationId: "moveTenant",
  summary:
    "Move a tenant between isolation tiers (and regions): 202 with the move; the tenant is read-only until it has switched",
  tags: ["tenants"],
  security: adminSecurity,
  request: { params: TenantIdParam, body: jsonRequest(MoveBody) },
  // Already there, deleted, or not on the enterprise plan; or a move is already under way.
  problems: ["tenant_not_found", "conflict", "tenant_moving"],
  responses: { 202: jsonContent(MoveSchema, "Accepted; the move runs off the request path") },
});
