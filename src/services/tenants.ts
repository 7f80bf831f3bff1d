/**
 * The tenant lifecycle: create (tenant, first admin, admin API key and provision job in one
 * transaction), update, suspend/reactivate, soft delete and restore. Every change writes its
 * audit record and, where the namespace must follow, its outbox job in the same transaction.
 */
import { and, eq, ilike, or, sql } from "drizzle-orm";
import { batchAsSystem, type Database, type HttpDatabase, type Tx, withSystem } from "../db/client";
import {
  normalizedEmail,
  type Plan,
  type TenantStatus,
  tenantMemberships,
  tenants,
  users,
} from "../db/schema";
import { type EnqueuedJob, enqueueJob } from "../jobs/producer";
import { clock } from "../lib/clock";
import { keyset, type PageQuery, toPage } from "../lib/pagination";
import { hashPassword } from "../lib/passwords";
import { Problem } from "../lib/problem";
import { newTemporaryPassword, TEMPORARY_PASSWORD_TTL_MS } from "../lib/temporary-passwords";
import { createApiKey } from "./api-keys";
import { type AuditContext, recordAudit } from "./audit";
import { effectiveFeatures } from "./plans";
import { forgetTenant, parseTenantKey } from "./tenant-directory";
import { uniqueName } from "./unique-names";

const DAY_MS = 86_400_000;
export const DEFAULT_TENANT_SLUG = "default";

export type TenantRow = typeof tenants.$inferSelect;

export function presentTenant(row: TenantRow, retentionDays: number) {
  return {
    id: row.id,
    slug: row.slug,
    name: row.name,
    status: row.status,
    plan: row.plan,
    quota_overrides: row.quotaOverrides,
    features: effectiveFeatures(row),
    feature_overrides: row.features,
    settings: row.settings,
    suspended_at: row.suspendedAt?.toISOString() ?? null,
    suspend_reason: row.suspendReason,
    deleted_at: row.deletedAt?.toISOString() ?? null,
    purge_after: row.deletedAt
      ? new Date(row.deletedAt.getTime() + retentionDays * DAY_MS).toISOString()
      : null,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}

export interface CreateTenantInput {
  name: string;
  slug: string;
  plan: Plan;
  adminEmail: string;
  quotaOverrides: Record<string, number>;
  features: Record<string, boolean>;
}

export async function createTenant(db: Database, audit: AuditContext, input: CreateTenantInput) {
  return withSystem(db, async (tx) => {
    const tenant = await insertTenant(tx, input);
    // The tenant's own rows (API key) are written under its RLS scope, in this transaction.
    await tx.execute(sql`select set_config('app.tenant_id', ${tenant.id}, true)`);
    const admin = await ensureAdmin(tx, tenant.id, input.adminEmail);
    const apiKey = await createApiKey(tx, audit, {
      tenant,
      name: "admin",
      role: "admin",
      expiresAt: null,
      createdBy: admin.user_id,
    });
    const job = await enqueueJob(tx, tenant.id, "provision");
    await recordAudit(tx, audit, {
      tenantId: tenant.id,
      action: "tenant.created",
      targetType: "tenant",
      targetId: tenant.id,
      meta: {
        slug: tenant.slug,
        plan: tenant.plan,
        admin_email: admin.email,
        new_user: admin.temporary_password !== undefined,
      },
    });
    const { key, ...keyFields } = apiKey;
    return { tenant, admin, api_key: { ...keyFields, key }, provisioning_job: job };
  });
}

async function insertTenant(tx: Tx, input: CreateTenantInput): Promise<TenantRow> {
  const [row] = await uniqueName(
    tx
      .insert(tenants)
      .values({
        name: input.name,
        slug: input.slug,
        plan: input.plan,
        quotaOverrides: input.quotaOverrides,
        features: input.features,
      })
      .returning(),
    `The slug "${input.slug}" is taken.`,
    "slug_taken",
  );
  if (!row) throw new Error("insert returned no tenant");
  return row;
}

/**
 * An existing user simply becomes admin; a new one gets a temporary password, shown once,
 * that expires after 7 days and must be changed at first sign-in.
 */
async function ensureAdmin(tx: Tx, tenantId: string, email: string) {
  const [existing] = await tx
    .select({ id: users.id, email: users.email })
    .from(users)
    .where(eq(users.emailNormalized, normalizedEmail(email)))
    .limit(1);
  let user = existing;
  let temporaryPassword: string | undefined;
  if (!user) {
    temporaryPassword = newTemporaryPassword();
    const [created] = await tx
      .insert(users)
      .values({
        email,
        passwordHash: await hashPassword(temporaryPassword),
        mustChangePassword: true,
        passwordExpiresAt: new Date(clock.now() + TEMPORARY_PASSWORD_TTL_MS),
      })
      .returning({ id: users.id, email: users.email });
    user = created;
  }
  if (!user) throw new Error("user insert returned no row");
  await tx.insert(tenantMemberships).values({ tenantId, userId: user.id, role: "admin" });
  return {
    user_id: user.id,
    email: user.email,
    ...(temporaryPassword !== undefined ? { temporary_password: temporaryPassword } : {}),
  };
}

export interface TenantFilters extends PageQuery {
  status?: TenantStatus;
  plan?: Plan;
  q?: string;
}

export async function listTenants(db: Database, filters: TenantFilters, retentionDays: number) {
  const page = keyset(tenants, filters);
  const pattern = filters.q ? `%${filters.q.replace(/[\\%_]/g, (m) => `\\${m}`)}%` : undefined;
  const rows = await withSystem(db, (tx) =>
    tx
      .select()
      .from(tenants)
      .where(
        and(
          filters.status ? eq(tenants.status, filters.status) : undefined,
          filters.plan ? eq(tenants.plan, filters.plan) : undefined,
          pattern ? or(ilike(tenants.slug, pattern), ilike(tenants.name, pattern)) : undefined,
          page.after,
        ),
      )
      .orderBy(...page.orderBy)
      .limit(page.take),
  );
  return toPage(rows, filters.limit, (row) => presentTenant(row, retentionDays));
}

/** A tenant row by id, deleted ones included, in one round trip and without a lock: for reads. */
export async function readTenant(http: HttpDatabase, id: string): Promise<TenantRow> {
  const [row] = await batchAsSystem(http, (db) => db.select().from(tenants).where(eq(tenants.id, id)));
  if (!row) throw new Problem("tenant_not_found", "No such tenant.");
  return row;
}

/** Any tenant by uuid or slug, deleted ones included, locked for the change that follows. */
export async function loadTenant(tx: Tx, idOrSlug: string): Promise<TenantRow> {
  const key = parseTenantKey(idOrSlug);
  if (!key) throw new Problem("tenant_not_found", "No such tenant.");
  const [row] = await tx
    .select()
    .from(tenants)
    .where("id" in key ? eq(tenants.id, key.id) : eq(tenants.slug, key.slug))
    .for("update")
    .limit(1);
  if (!row) throw new Problem("tenant_not_found", "No such tenant.");
  return row;
}

export interface TenantPatch {
  name?: string;
  settings?: Record<string, unknown>;
  plan?: Plan;
  quotaOverrides?: Record<string, number>;
  features?: Record<string, boolean>;
  status?: "active" | "suspended";
}

type Transition = { row: TenantRow; jobs: EnqueuedJob[] };

export async function patchTenant(db: Database, audit: AuditContext, idOrSlug: string, patch: TenantPatch) {
  return mutate(db, idOrSlug, async (tx, current) => {
    if (current.status === "deleted") throw new Problem("tenant_not_found", "No such tenant.");
    const jobs: EnqueuedJob[] = [];
    const values: Partial<typeof tenants.$inferInsert> = { updatedAt: new Date(clock.now()) };
    if (patch.name !== undefined) values.name = patch.name;
    if (patch.settings !== undefined) values.settings = patch.settings;
    if (patch.plan !== undefined) values.plan = patch.plan;
    if (patch.quotaOverrides !== undefined) values.quotaOverrides = patch.quotaOverrides;
    if (patch.features !== undefined) values.features = { ...current.features, ...patch.features };
    if (patch.status !== undefined && patch.status !== current.status) {
      Object.assign(values, statusValues(patch.status, null));
      jobs.push(await enqueueJob(tx, current.id, patch.status === "suspended" ? "suspend" : "resume"));
    }
    const quotaChanged =
      (patch.plan !== undefined && patch.plan !== current.plan) ||
      (patch.quotaOverrides !== undefined &&
        JSON.stringify(patch.quotaOverrides) !== JSON.stringify(current.quotaOverrides));
    if (quotaChanged) jobs.push(await enqueueJob(tx, current.id, "update_quota"));
    const row = await update(tx, current.id, values);
    await recordAudit(tx, audit, {
      tenantId: current.id,
      action: "tenant.updated",
      targetType: "tenant",
      targetId: current.id,
      meta: { fields: Object.keys(patch) },
    });
    return { row, jobs };
  });
}

export async function suspendTenant(db: Database, audit: AuditContext, idOrSlug: string, reason: string) {
  return transition(db, audit, idOrSlug, {
    from: ["active"],
    to: "suspended",
    job: "suspend",
    action: "tenant.suspended",
    reason,
  });
}

export async function reactivateTenant(db: Database, audit: AuditContext, idOrSlug: string) {
  return transition(db, audit, idOrSlug, {
    from: ["suspended"],
    to: "active",
    job: "resume",
    action: "tenant.reactivated",
  });
}

/** Soft delete: the tenant disappears for its users at once; its data waits for purge. */
export async function deleteTenant(db: Database, audit: AuditContext, idOrSlug: string) {
  return mutate(db, idOrSlug, async (tx, current) => {
    if (current.status === "deleted") throw new Problem("tenant_not_found", "No such tenant.");
    if (current.slug === DEFAULT_TENANT_SLUG) {
      throw new Problem("default_tenant_protected", "The default tenant cannot be deleted.");
    }
    const row = await update(tx, current.id, {
      status: "deleted",
      deletedAt: new Date(clock.now()),
      updatedAt: new Date(clock.now()),
    });
    await recordAudit(tx, audit, {
      tenantId: current.id,
      action: "tenant.deleted",
      targetType: "tenant",
      targetId: current.id,
    });
    return { row, jobs: [] };
  });
}

export async function restoreTenant(
  db: Database,
  audit: AuditContext,
  idOrSlug: string,
  retentionDays: number,
) {
  return mutate(db, idOrSlug, async (tx, current) => {
    if (current.status !== "deleted" || !current.deletedAt) {
      throw new Problem("conflict", "Only a deleted tenant can be restored.");
    }
    if (current.deletedAt.getTime() + retentionDays * DAY_MS <= clock.now()) {
      throw new Problem("conflict", "The retention period has passed; the tenant is being purged.");
    }
    // A tenant that was suspended before deletion comes back suspended.
    const status: TenantStatus = current.suspendedAt ? "suspended" : "active";
    const row = await update(tx, current.id, { status, deletedAt: null, updatedAt: new Date(clock.now()) });
    // Jobs that arrived while the tenant was deleted were skipped: bring the namespace up to date.
    const job = await enqueueJob(tx, current.id, "provision");
    await recordAudit(tx, audit, {
      tenantId: current.id,
      action: "tenant.restored",
      targetType: "tenant",
      targetId: current.id,
    });
    return { row, jobs: [job] };
  });
}

async function transition(
  db: Database,
  audit: AuditContext,
  idOrSlug: string,
  t: {
    from: TenantStatus[];
    to: "active" | "suspended";
    job: "suspend" | "resume";
    action: string;
    reason?: string;
  },
) {
  return mutate(db, idOrSlug, async (tx, current) => {
    if (current.status === "deleted") throw new Problem("tenant_not_found", "No such tenant.");
    if (!t.from.includes(current.status))
      throw new Problem("conflict", `The tenant is already ${current.status}.`);
    const row = await update(tx, current.id, {
      ...statusValues(t.to, t.reason ?? null),
      updatedAt: new Date(clock.now()),
    });
    const job = await enqueueJob(tx, current.id, t.job);
    await recordAudit(tx, audit, {
      tenantId: current.id,
      action: t.action,
      targetType: "tenant",
      targetId: current.id,
      meta: t.reason ? { reason: t.reason } : {},
    });
    return { row, jobs: [job] };
  });
}

function statusValues(
  status: "active" | "suspended",
  reason: string | null,
): Partial<typeof tenants.$inferInsert> {
  return status === "suspended"
    ? { status, suspendedAt: new Date(clock.now()), suspendReason: reason }
    : { status, suspendedAt: null, suspendReason: null };
}

/** Locks the tenant row for the change, then drops it from this isolate's cache. */
async function mutate(
  db: Database,
  idOrSlug: string,
  change: (tx: Tx, current: TenantRow) => Promise<Transition>,
) {
  const result = await withSystem(db, async (tx) => {
    const current = await loadTenant(tx, idOrSlug);
    // `return await`: a change that throws before its first await must be handled in this
    // tick, or workerd reports the rejection as unhandled.
    return await change(tx, current);
  });
  forgetTenant(result.row);
  return result;
}

async function update(tx: Tx, id: string, values: Partial<typeof tenants.$inferInsert>): Promise<TenantRow> {
  const [row] = await tx.update(tenants).set(values).where(eq(tenants.id, id)).returning();
  if (!row) throw new Error("update returned no tenant");
  return row;
}
