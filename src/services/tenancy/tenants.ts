/**
 * The tenant lifecycle: create (tenant, first admin, admin API key and provision job in one
 * transaction), update, suspend/reactivate, soft delete and restore. Every change writes its
 * audit record and, where the namespace must follow, its outbox job in the same transaction.
 */
import { and, eq, ilike, or, type SQL, sql } from "drizzle-orm";
import { batchAsSystem, type HttpDatabase, tenantSetting } from "../../db/client";
import {
  type IpAllowlistScope,
  type IsolationTier,
  type JobKind,
  normalizedEmail,
  notifications,
  type Plan,
  provisioningJobs,
  type TenantStatus,
  tenantMemberships,
  tenantMoves,
  tenants,
  users,
} from "../../db/schema";
import { type Pending, WriteBatch } from "../../db/write-batch";
import type { Config } from "../../env";
import { type EnqueuedJob, type JobOutbox, jobInsert } from "../../jobs/producer";
import { clock, DAY_MS } from "../../lib/clock";
import { keyset, type PageQuery, toPage } from "../../lib/pagination";
import { hashPassword } from "../../lib/passwords";
import { Problem, type ProblemCode } from "../../lib/problem";
import { newTemporaryPassword, TEMPORARY_PASSWORD_TTL_MS } from "../../lib/temporary-passwords";
import { adminsOf } from "../../notifications/admins";
import type { NotificationOutbox } from "../../notifications/outbox";
import type { TenantLifecycleEvent } from "../../notifications/tenant-lifecycle-email";
import type { WebhookDispatch } from "../../webhooks/dispatch";
import { addApiKey } from "../access/api-keys";
import { claimInBatch, type PendingClaim } from "../platform/idempotency";
import { requireRow } from "../resources/tenant-resources";
import { uniqueName } from "../resources/unique-names";
import { type AuditContext, auditInsert } from "./audit";
import type { CheckedChange } from "./ip-allowlist";
import {
  checkPlacement,
  checkRegion,
  DEDICATED_PLANS,
  MOVE_SETTLE_MS,
  newMove,
  presentMove,
  requestMove,
} from "./placement";
import { effectiveFeatures } from "./plans";
import { forgetTenant, parseTenantKey, refreshTenant } from "./tenant-directory";

export const DEFAULT_TENANT_SLUG = "default";

export type TenantRow = typeof tenants.$inferSelect;

/** When a tenant deleted at `deletedAt` is purged. */
function purgeAfter(deletedAt: Date, retentionDays: number): Date {
  return new Date(deletedAt.getTime() + retentionDays * DAY_MS);
}

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
    ip_allowlist: row.ipAllowlist,
    ip_allowlist_applies_to: row.ipAllowlistAppliesTo,
    isolation: row.isolation,
    region: row.region,
    move_id: row.moveId,
    suspended_at: row.suspendedAt?.toISOString() ?? null,
    suspend_reason: row.suspendReason,
    deleted_at: row.deletedAt?.toISOString() ?? null,
    purge_after: row.deletedAt ? purgeAfter(row.deletedAt, retentionDays).toISOString() : null,
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
  placement: { isolation: IsolationTier; region?: string | undefined };
}

/**
 * Creates the tenant, its first admin (an existing user, or a new one with a temporary
 * password shown once, expiring after 7 days and to be changed at first sign-in), the
 * admin's API key, the provision job and the audit record. Two round trips: whether the
 * admin's account exists, then one batch that writes everything (and the Idempotency-Key's
 * record), whose answer is decided before it runs.
 */
export async function createTenant(
  { http, audit, jobs, config }: LifecycleContext & { config: Config },
  input: CreateTenantInput,
  opts: { retentionDays: number; idempotency?: PendingClaim },
) {
  const email = normalizedEmail(input.adminEmail);
  const [existing] = await batchAsSystem(http, (db) =>
    db
      .select({ id: users.id, email: users.email })
      .from(users)
      .where(eq(users.emailNormalized, email))
      .limit(1),
  );
  const now = new Date(clock.now());
  const tenant: TenantRow = {
    id: crypto.randomUUID(),
    slug: input.slug,
    name: input.name,
    status: "active",
    plan: input.plan,
    quotaOverrides: input.quotaOverrides,
    features: input.features,
    settings: {},
    ipAllowlist: [],
    ipAllowlistAppliesTo: "api_keys",
    suspendedAt: null,
    suspendReason: null,
    // A dedicated tenant starts shared and moves at once (its move is in this batch): it
    // has no rows yet, so there is nothing to wait for before copying.
    isolation: "shared",
    region: config.CONTROL_REGION,
    databaseId: null,
    moveId: null,
    hasWebhooks: false,
    deletedAt: null,
    createdAt: now,
    updatedAt: now,
  };
  const placement = checkPlacement(config, input.plan, input.placement);
  const batch = new WriteBatch(http, { system: true });
  if (opts.idempotency) claimInBatch(batch, opts.idempotency);
  batch.do(batch.db.insert(tenants).values(tenant));
  const move =
    placement.isolation === "dedicated"
      ? requestMove(batch, tenant, placement, { now, settleMs: 0 })
      : undefined;
  if (move) tenant.moveId = move.id;
  // The tenant's own rows (API key, job) are written under its RLS scope, in this transaction.
  batch.do(tenantSetting(tenant.id));
  let admin: { user_id: string; email: string; temporary_password?: string };
  if (existing) {
    admin = { user_id: existing.id, email: existing.email };
  } else {
    const temporaryPassword = newTemporaryPassword();
    admin = { user_id: crypto.randomUUID(), email: input.adminEmail, temporary_password: temporaryPassword };
    // An account created for this email since the lookup wins; the batch then fails as a
    // conflict rather than answer a temporary password that was never stored.
    batch.do(
      batch.db
        .insert(users)
        .values({
          id: admin.user_id,
          email: input.adminEmail,
          passwordHash: await hashPassword(temporaryPassword),
          mustChangePassword: true,
          passwordExpiresAt: new Date(clock.now() + TEMPORARY_PASSWORD_TTL_MS),
        })
        .onConflictDoNothing(),
    );
    batch.failWhen(sql`not exists (select 1 from ${users} where ${users.id} = ${admin.user_id})`, {
      code: "conflict",
      detail: "An account with this email was created meanwhile; retry.",
    });
  }
  batch.do(
    batch.db.insert(tenantMemberships).values({ tenantId: tenant.id, userId: admin.user_id, role: "admin" }),
  );
  const apiKey = await addApiKey(batch, audit, {
    tenant,
    name: "admin",
    role: "admin",
    expiresAt: null,
    createdBy: admin.user_id,
  });
  const provision = jobInsert(batch.db, tenant.id, "provision");
  batch.do(provision.insert);
  batch.do(
    auditInsert(batch.db, audit, {
      tenantId: tenant.id,
      action: "tenant.created",
      targetType: "tenant",
      targetId: tenant.id,
      meta: {
        slug: tenant.slug,
        plan: tenant.plan,
        isolation: placement.isolation,
        region: placement.region,
        admin_email: admin.email,
        new_user: admin.temporary_password !== undefined,
      },
    }),
  );
  const answer = {
    tenant: presentTenant(tenant, opts.retentionDays),
    admin,
    api_key: apiKey,
    provisioning_job: provision.job,
    ...(move ? { move: presentMove(move) } : {}),
  };
  await uniqueName(
    batch.run({ status: 201, body: answer }),
    `The slug "${input.slug}" is taken.`,
    "slug_taken",
  );
  jobs.sendAfterCommit([provision.job]);
  if (move) jobs.sendMoveAfterCommit(move);
  return answer;
}

export interface TenantFilters extends PageQuery {
  status?: TenantStatus;
  plan?: Plan;
  q?: string;
}

export async function listTenants(http: HttpDatabase, filters: TenantFilters, retentionDays: number) {
  const page = keyset(tenants, filters);
  const pattern = filters.q ? `%${filters.q.replace(/[\\%_]/g, (m) => `\\${m}`)}%` : undefined;
  const rows = await batchAsSystem(http, (db) =>
    db
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

/**
 * The lifecycle changes. Each is one batch in system scope: lock the tenant row (by uuid or
 * slug), guard the transition against the row as it is, write the jobs the change needs (a
 * job's condition reads the row before the update), update, audit. Nothing in the Worker
 * needs the row before the batch runs.
 */
/** What a lifecycle change needs of the request: its database, its audit facts, and where its jobs go after commit. */
export interface LifecycleContext {
  http: HttpDatabase;
  audit: AuditContext;
  jobs: JobOutbox;
  /** Where the emails to the tenant's admins go after commit. */
  notifications: NotificationOutbox;
  /** Where the webhook deliveries the change wrote (its audit record's events) go after commit. */
  webhooks: Pick<WebhookDispatch, "tenantChanged">;
}

export interface TenantPatch {
  name?: string;
  settings?: Record<string, unknown>;
  plan?: Plan;
  quotaOverrides?: Record<string, number>;
  features?: Record<string, boolean>;
  status?: "active" | "suspended";
  ipAllowlist?: string[];
  ipAllowlistAppliesTo?: IpAllowlistScope;
}

/** A patch's fields as the API names them, for the audit record. */
const PATCH_FIELDS: Record<keyof TenantPatch, string> = {
  name: "name",
  settings: "settings",
  plan: "plan",
  quotaOverrides: "quota_overrides",
  features: "features",
  status: "status",
  ipAllowlist: "ip_allowlist",
  ipAllowlistAppliesTo: "ip_allowlist_applies_to",
};

export interface Transition {
  row: TenantRow;
  jobs: EnqueuedJob[];
}

export function patchTenant(
  ctx: LifecycleContext,
  idOrSlug: string,
  patch: TenantPatch,
  allowlist: CheckedChange = { forced: false },
) {
  return change(ctx, idOrSlug, (c) => {
    c.refuseDeleted();
    // The lock-out check read the cached tenant: what it relied on must still hold.
    const read = allowlist.read;
    const changedMeanwhile = sql`'The IP allowlist changed meanwhile; read the tenant and retry.'`;
    if (read?.ipAllowlist !== undefined) {
      c.failWhen(
        sql`${tenants.ipAllowlist} <> ${JSON.stringify(read.ipAllowlist)}::jsonb`,
        "conflict",
        changedMeanwhile,
      );
    }
    if (read?.ipAllowlistAppliesTo !== undefined) {
      c.failWhen(
        sql`${tenants.ipAllowlistAppliesTo} <> ${read.ipAllowlistAppliesTo}`,
        "conflict",
        changedMeanwhile,
      );
    }
    const values: Partial<Record<keyof TenantRow, unknown>> = { updatedAt: new Date(clock.now()) };
    if (patch.name !== undefined) values.name = patch.name;
    if (patch.settings !== undefined) values.settings = patch.settings;
    if (patch.plan !== undefined) values.plan = patch.plan;
    if (patch.plan !== undefined && !DEDICATED_PLANS.has(patch.plan)) {
      c.failWhen(
        sql`${tenants.isolation} = 'dedicated'`,
        "conflict",
        sql`${`A dedicated tenant needs the enterprise plan: move it to shared before changing its plan to ${patch.plan}.`}::text`,
      );
    }
    if (patch.quotaOverrides !== undefined) values.quotaOverrides = patch.quotaOverrides;
    if (patch.features !== undefined) {
      values.features = sql`${tenants.features} || ${JSON.stringify(patch.features)}::jsonb`;
    }
    if (patch.ipAllowlist !== undefined) values.ipAllowlist = patch.ipAllowlist;
    if (patch.ipAllowlistAppliesTo !== undefined) values.ipAllowlistAppliesTo = patch.ipAllowlistAppliesTo;
    if (patch.status !== undefined) {
      const changing = sql`${tenants.status} <> ${patch.status}`;
      c.jobWhen(patch.status === "suspended" ? "suspend" : "resume", changing);
      c.notifyAdminsWhen(patch.status === "suspended" ? "suspended" : "reactivated", {}, changing);
      values.status = patch.status;
      // Suspending a suspended tenant keeps when and why it was suspended.
      values.suspendedAt =
        patch.status === "suspended"
          ? sql`case when ${changing} then ${new Date(clock.now()).toISOString()}::timestamptz else ${tenants.suspendedAt} end`
          : null;
      values.suspendReason =
        patch.status === "suspended"
          ? sql`case when ${changing} then null else ${tenants.suspendReason} end`
          : null;
    }
    const quotaChanges = [
      patch.plan !== undefined ? sql`${tenants.plan} <> ${patch.plan}` : undefined,
      patch.quotaOverrides !== undefined
        ? sql`${tenants.quotaOverrides} <> ${JSON.stringify(patch.quotaOverrides)}::jsonb`
        : undefined,
    ].filter((x) => x !== undefined);
    if (quotaChanges.length > 0) c.jobWhen("update_quota", sql`(${sql.join(quotaChanges, sql` or `)})`);
    c.update(values);
    const fields = (Object.keys(PATCH_FIELDS) as Array<keyof TenantPatch>).filter(
      (f) => patch[f] !== undefined,
    );
    c.audit("tenant.updated", {
      fields: fields.map((f) => PATCH_FIELDS[f]),
      // Who opened the tenant to which addresses is worth finding in the trail by itself.
      ...(patch.ipAllowlist !== undefined ? { ip_allowlist: patch.ipAllowlist } : {}),
      ...(patch.ipAllowlistAppliesTo !== undefined
        ? { ip_allowlist_applies_to: patch.ipAllowlistAppliesTo }
        : {}),
      ...(allowlist.forced ? { forced: true } : {}),
    });
  });
}

export function suspendTenant(ctx: LifecycleContext, idOrSlug: string, reason: string) {
  return transition(ctx, idOrSlug, {
    from: "active",
    to: "suspended",
    job: "suspend",
    action: "tenant.suspended",
    reason,
  });
}

export function reactivateTenant(ctx: LifecycleContext, idOrSlug: string) {
  return transition(ctx, idOrSlug, {
    from: "suspended",
    to: "active",
    job: "resume",
    action: "tenant.reactivated",
  });
}

/**
 * Soft delete: the tenant disappears for its users at once; its data waits for purge, whose
 * date its admins are told.
 */
export function deleteTenant(ctx: LifecycleContext, idOrSlug: string, retentionDays: number) {
  return change(ctx, idOrSlug, (c) => {
    c.refuseDeleted();
    c.failWhen(
      sql`${tenants.slug} = ${DEFAULT_TENANT_SLUG}`,
      "default_tenant_protected",
      sql`'The default tenant cannot be deleted.'`,
    );
    const now = new Date(clock.now());
    c.update({ status: "deleted", deletedAt: now, updatedAt: now });
    c.notifyAdmins("deletion_scheduled", { purge_after: purgeAfter(now, retentionDays).toISOString() });
    c.audit("tenant.deleted", {});
  });
}

export function restoreTenant(ctx: LifecycleContext, idOrSlug: string, retentionDays: number) {
  return change(ctx, idOrSlug, (c) => {
    c.failWhen(
      sql`${tenants.status} <> 'deleted' or ${tenants.deletedAt} is null`,
      "conflict",
      sql`'Only a deleted tenant can be restored.'`,
    );
    c.failWhen(
      sql`${tenants.deletedAt} + make_interval(days => ${retentionDays}::int) <= ${new Date(clock.now()).toISOString()}::timestamptz`,
      "conflict",
      sql`'The retention period has passed; the tenant is being purged.'`,
    );
    // A tenant that was suspended before deletion comes back suspended.
    c.update({
      status: sql`case when ${tenants.suspendedAt} is not null then 'suspended' else 'active' end`,
      deletedAt: null,
      updatedAt: new Date(clock.now()),
    });
    // Jobs that arrived while the tenant was deleted were skipped: bring the namespace up to date.
    c.job("provision");
    c.audit("tenant.restored", {});
  });
}

function transition(
  ctx: LifecycleContext,
  idOrSlug: string,
  t: {
    from: TenantStatus;
    to: "active" | "suspended";
    job: "suspend" | "resume";
    action: string;
    reason?: string;
  },
) {
  return change(ctx, idOrSlug, (c) => {
    c.refuseDeleted();
    c.failWhen(
      sql`${tenants.status} <> ${t.from}`,
      "conflict",
      sql`format('The tenant is already %s.', ${tenants.status})`,
    );
    c.update({ ...statusValues(t.to, t.reason ?? null), updatedAt: new Date(clock.now()) });
    c.job(t.job);
    c.notifyAdmins(t.to === "suspended" ? "suspended" : "reactivated", { reason: t.reason ?? null });
    c.audit(t.action, t.reason ? { reason: t.reason } : {});
  });
}

function statusValues(status: "active" | "suspended", reason: string | null): Partial<TenantRow> {
  return status === "suspended"
    ? { status, suspendedAt: new Date(clock.now()), suspendReason: reason }
    : { status, suspendedAt: null, suspendReason: null };
}

/** What a lifecycle change adds to its batch, in order, about the locked tenant row. */
interface ChangeBuilder {
  refuseDeleted(): void;
  failWhen(where: SQL, code: "conflict" | "default_tenant_protected" | "tenant_moving", detail: SQL): void;
  /** A job that the change always needs. */
  job(kind: JobKind): void;
  /** A job needed only when `when` holds of the row as it was before the update. */
  jobWhen(kind: JobKind, when: SQL): void;
  update(values: Partial<Record<keyof TenantRow, unknown>>): void;
  /** An email to each of the tenant's admins, sent after commit. */
  notifyAdmins(event: TenantLifecycleEvent, fields: Record<string, unknown>): void;
  /** The same, only when `when` holds of the row as it was before the update. */
  notifyAdminsWhen(event: TenantLifecycleEvent, fields: Record<string, unknown>, when: SQL): void;
  audit(action: string, meta: Record<string, unknown>): void;
}

async function change(
  { http, audit, jobs: outbox, notifications: emails, webhooks }: LifecycleContext,
  idOrSlug: string,
  build: (c: ChangeBuilder) => void,
): Promise<Transition> {
  const key = parseTenantKey(idOrSlug);
  if (!key) throw new Problem("tenant_not_found", "No such tenant.");
  const where = "id" in key ? eq(tenants.id, key.id) : eq(tenants.slug, key.slug);
  const tenantId = sql`(select ${tenants.id} from ${tenants} where ${where})`;
  const batch = new WriteBatch(http, { system: true });
  requireRow(batch, tenants, where, new Problem("tenant_not_found", "No such tenant."));
  const now = new Date(clock.now()).toISOString();
  const jobs: Array<Pending<{ rows: EnqueuedJob[] }>> = [];
  let updated: Pending<TenantRow[]> | undefined;
  const guard = (cond: SQL, code: ProblemCode, detail: SQL) =>
    batch.failWhen(sql`${where} and (${cond})`, { code, detail, from: sql`${tenants}` });
  const addJob = (kind: JobKind, when: SQL) =>
    jobs.push(
      batch.add(
        batch.db.execute<EnqueuedJob>(
          sql`insert into ${provisioningJobs} (id, tenant_id, kind, created_at, updated_at)
              select ${crypto.randomUUID()}::uuid, ${tenants.id}, ${kind}, ${now}::timestamptz, ${now}::timestamptz
              from ${tenants} where ${where} and ${when}
              returning id, kind, status`,
        ),
      ),
    );
  const notices: Array<Pending<{ rows: Array<{ id: string }> }>> = [];
  // One row per admin, chosen in the batch itself: no read before it, and an admin added or
  // removed meanwhile is seen as the batch sees the memberships.
  const addNotice = (event: TenantLifecycleEvent, fields: Record<string, unknown>, when: SQL) =>
    notices.push(
      batch.add(
        batch.db.execute<{ id: string }>(
          sql`insert into ${notifications} (id, tenant_id, channel, recipient, template, payload, next_attempt_at, created_at)
              select gen_random_uuid(), ${tenants.id}, 'email', ${users.email}, 'tenant_lifecycle',
                     jsonb_build_object('tenant_name', ${tenants.name}, 'tenant_slug', ${tenants.slug})
                       || ${JSON.stringify({ ...fields, event })}::jsonb,
                     ${now}::timestamptz, ${now}::timestamptz
              from ${tenants} ${adminsOf(sql`${tenants.id}`)}
              where ${where} and ${when}
              returning ${notifications.id}`,
        ),
      ),
    );
  // A moving tenant is read-only, lifecycle included: the move's switch must see it as it was.
  guard(
    sql`${tenants.moveId} is not null`,
    "tenant_moving",
    sql`'This tenant is moving between databases; try again when the move has finished.'`,
  );
  build({
    refuseDeleted: () =>
      guard(sql`${tenants.status} = 'deleted'`, "tenant_not_found", sql`'No such tenant.'`),
    failWhen: guard,
    job: (kind) => addJob(kind, sql`true`),
    jobWhen: addJob,
    notifyAdmins: (event, fields) => addNotice(event, fields, sql`true`),
    notifyAdminsWhen: addNotice,
    update: (values) => {
      updated = batch.add(
        batch.db
          .update(tenants)
          .set(values as Partial<typeof tenants.$inferInsert>)
          .where(where)
          .returning(),
      );
    },
    audit: (action, meta) =>
      batch.do(
        auditInsert(batch.db, audit, {
          tenantId,
          action,
          targetType: "tenant",
          targetId: sql`${tenantId}::text`,
          meta,
        }),
      ),
  });
  await batch.run();
  const row = updated?.value[0];
  if (!row) throw new Error("a tenant change updated no row");
  refreshTenant(row);
  const written = jobs.flatMap((job) => job.value.rows);
  outbox.sendAfterCommit(written);
  emails.sendAfterCommit(notices.flatMap((notice) => notice.value.rows));
  webhooks.tenantChanged(row.id);
  return { row, jobs: written };
}

/**
 * Starts a move between isolation tiers (or dedicated regions): one batch that locks the
 * tenant, checks the move against the row as it is (not deleted, not moving already, on the
 * enterprise plan for a dedicated target, not already there), writes the move and marks the
 * tenant moving. The copy waits MOVE_SETTLE_MS, so every isolate has seen the tenant read-only.
 */
export async function moveTenant(
  { http, audit, jobs, config }: LifecycleContext & { config: Config },
  idOrSlug: string,
  wanted: { isolation: IsolationTier; region?: string | undefined },
) {
  const key = parseTenantKey(idOrSlug);
  if (!key) throw new Problem("tenant_not_found", "No such tenant.");
  const where = "id" in key ? eq(tenants.id, key.id) : eq(tenants.slug, key.slug);
  // The plan is checked in the batch, against the locked row; REGIONS here. A dedicated move
  // that names no region keeps the tenant's.
  const keepsRegion = wanted.region === undefined && wanted.isolation === "dedicated";
  const named = keepsRegion ? undefined : checkRegion(config, wanted.isolation, wanted.region);
  const region =
    named === undefined
      ? sql`(select ${tenants.region} from ${tenants} where ${where})`
      : sql`${named}::text`;
  const batch = new WriteBatch(http, { system: true });
  requireRow(batch, tenants, where, new Problem("tenant_not_found", "No such tenant."));
  const guard = (cond: SQL, code: ProblemCode, detail: string) =>
    batch.failWhen(sql`${where} and (${cond})`, { code, detail, from: sql`${tenants}` });
  guard(sql`${tenants.status} = 'deleted'`, "tenant_not_found", "No such tenant.");
  guard(
    sql`${tenants.moveId} is not null`,
    "tenant_moving",
    "This tenant is already moving; wait for that move to finish.",
  );
  if (wanted.isolation === "dedicated") {
    const plans = [...DEDICATED_PLANS].map((plan) => sql`${plan}`);
    guard(
      sql`${tenants.plan} not in (${sql.join(plans, sql`, `)})`,
      "conflict",
      "A dedicated database needs the enterprise plan.",
    );
  }
  guard(
    sql`${tenants.isolation} = ${wanted.isolation} and ${tenants.region} = ${region}`,
    "conflict",
    `The tenant is already ${wanted.isolation} in that region.`,
  );
  const now = new Date(clock.now());
  const moveId = crypto.randomUUID();
  const inserted = batch.add(
    batch.db.execute<Record<string, unknown>>(
      sql`insert into ${tenantMoves} (id, tenant_id, from_isolation, from_database_id, to_isolation, to_region, copy_after, created_at, updated_at)
          select ${moveId}::uuid, ${tenants.id}, ${tenants.isolation}, ${tenants.databaseId}, ${wanted.isolation}, ${region},
                 ${new Date(now.getTime() + MOVE_SETTLE_MS).toISOString()}::timestamptz, ${now.toISOString()}::timestamptz, ${now.toISOString()}::timestamptz
          from ${tenants} where ${where}
          returning id`,
    ),
  );
  const updated = batch.add(
    batch.db.update(tenants).set({ moveId, updatedAt: now }).where(where).returning(),
  );
  const tenantId = sql`(select ${tenants.id} from ${tenants} where ${where})`;
  batch.do(
    auditInsert(batch.db, audit, {
      tenantId,
      action: "tenant.move_requested",
      targetType: "tenant",
      targetId: sql`${tenantId}::text`,
      meta: sql`jsonb_build_object('move_id', ${moveId}::text, 'from', (select jsonb_build_object('isolation', ${tenants.isolation}, 'region', ${tenants.region}) from ${tenants} where ${where}), 'to', jsonb_build_object('isolation', ${wanted.isolation}::text, 'region', ${region}))`,
    }),
  );
  await batch.run();
  const row = updated.value[0];
  if (!row || inserted.value.rows.length === 0) throw new Error("a tenant move wrote no row");
  forgetTenant(row);
  // The update left isolation, region and database as they were: the move's "from".
  const move = newMove(
    moveId,
    row,
    { isolation: wanted.isolation, region: named ?? row.region },
    { now, settleMs: MOVE_SETTLE_MS },
  );
  jobs.sendMoveAfterCommit(move);
  return presentMove(move);
}
