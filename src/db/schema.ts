/**
 * The database schema: one source of truth for tables, indexes and row-level security.
 *
 * Every tenant-owned table carries `tenant_id` (FK → tenants, cascade), indexes that start
 * with it, and policies that compare it with the transaction's `app.tenant_id` setting.
 * `drizzle-kit generate` turns the policies into `ENABLE ROW LEVEL SECURITY` + `CREATE
 * POLICY`; FORCE and the grants live in a custom migration because drizzle never emits them.
 */
import { JOB_KINDS, PLANS } from "@tenantry/contract";
import { type SQL, sql } from "drizzle-orm";
import {
  type AnyPgColumn,
  bigint,
  boolean,
  check,
  date,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgPolicy,
  pgRole,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from "drizzle-orm/pg-core";

/** The login role the Worker connects as: not a superuser, not an owner, no BYPASSRLS. */
export const appRole = pgRole("tenantry_app").existing();

// Shared with the provisioner, which validates every job request against the same lists.
export { JOB_KINDS, type JobKind, PLANS, type Plan } from "@tenantry/contract";
export const TENANT_STATUSES = ["active", "suspended", "deleted"] as const;
export const ROLES = ["admin", "member", "viewer"] as const;
export const JOB_STATUSES = ["pending", "sent", "succeeded", "dry_run", "failed", "dead"] as const;
export const CREDENTIAL_KINDS = ["token", "password", "ssh_key", "certificate", "kubeconfig"] as const;
export const ACTOR_TYPES = ["user", "api_key", "system"] as const;
/** Which of a tenant's requests its IP allowlist gates: its API keys' only, or every one. */
export const IP_ALLOWLIST_SCOPES = ["api_keys", "all"] as const;
/** The most prefixes one tenant's IP allowlist may hold. */
export const MAX_IP_ALLOWLIST = 100;
/** Where a tenant's own rows live: the control database's shared tables, or a database of its own. */
export const ISOLATION_TIERS = ["shared", "dedicated"] as const;
/** `retired`: no tenant points at it any more and it waits to be dropped; `dropped`: gone. */
export const TENANT_DATABASE_STATUSES = ["ready", "retired", "dropped"] as const;
export const DATABASE_PROVIDERS = ["local", "neon"] as const;
/**
 * `copying`: the tenant is read-only and its rows travel; `switched`: the tenant points at its
 * new home, and what it left behind is cleared once every isolate has seen the switch;
 * `failed`: an attempt failed and the next one is due; `dead`: given up, the tenant stays where it was.
 */
export const MOVE_STATUSES = ["pending", "copying", "switched", "succeeded", "failed", "dead"] as const;

/** How a notification travels: an email now; webhook deliveries will ride the same outbox and queue. */
export const NOTIFICATION_CHANNELS = ["email", "webhook"] as const;
/** `failed`: the last attempt failed and a retry is scheduled (`next_attempt_at`); `dead`: given up. */
export const NOTIFICATION_STATUSES = ["pending", "sent", "failed", "dead"] as const;

export type TenantStatus = (typeof TENANT_STATUSES)[number];
export type Role = (typeof ROLES)[number];
export type JobStatus = (typeof JOB_STATUSES)[number];
export type IpAllowlistScope = (typeof IP_ALLOWLIST_SCOPES)[number];
export type NotificationChannel = (typeof NOTIFICATION_CHANNELS)[number];
export type NotificationStatus = (typeof NOTIFICATION_STATUSES)[number];
export type IsolationTier = (typeof ISOLATION_TIERS)[number];
export type TenantDatabaseStatus = (typeof TENANT_DATABASE_STATUSES)[number];
export type DatabaseProviderKind = (typeof DATABASE_PROVIDERS)[number];
export type MoveStatus = (typeof MOVE_STATUSES)[number];

/** Names that are never a tenant slug nor a tenant subdomain (docs/architecture.md, "Tenancy rules"). */
export const RESERVED_SLUG_NAMES = [
  "www",
  "api",
  "admin",
  "app",
  "auth",
  "static",
  "console",
  "docs",
  "mail",
  "metrics",
  "health",
  "status",
  "assets",
  "cdn",
  "dashboard",
  "billing",
  "support",
  "help",
  "system",
  "internal",
  "root",
] as const;

function reservedSlugArray(): string {
  return `array[${RESERVED_SLUG_NAMES.map((name) => `'${name}'`).join(", ")}]::text[]`;
}

/** Evaluated once per statement thanks to the sub-select; '' after a pooled reset, hence nullif. */
const currentTenant = sql`(select nullif(current_setting('app.tenant_id', true), ''))::uuid`;
const systemScope = sql`(select current_setting('app.scope', true)) = 'system'`;

/**
 * The isolation policies of a tenant-owned table. `system` lets explicit cross-tenant work
 * (system admin listings, purge, login) through when the transaction set `app.scope`.
 */
function tenantPolicies(table: string, tenantColumn: AnyPgColumn, opts: { system: boolean }) {
  const ownRows = sql`${tenantColumn} = ${currentTenant}`;
  const policies = [
    pgPolicy(`${table}_tenant_isolation`, { for: "all", to: appRole, using: ownRows, withCheck: ownRows }),
  ];
  if (opts.system) {
    policies.push(
      pgPolicy(`${table}_system_scope`, {
        for: "all",
        to: appRole,
        using: systemScope,
        withCheck: systemScope,
      }),
    );
  }
  return policies;
}

function oneOf(column: AnyPgColumn, values: readonly string[]): SQL {
  return sql`${column} in (${sql.raw(values.map((v) => `'${v}'`).join(", "))})`;
}

/** Millisecond precision: what a JS Date holds, so keyset cursors compare exactly. */
const timestamps = {
  createdAt: timestamp("created_at", { withTimezone: true, mode: "date", precision: 3 })
    .notNull()
    .defaultNow(),
  updatedAt: timestamp("updated_at", { withTimezone: true, mode: "date", precision: 3 })
    .notNull()
    .defaultNow(),
};

export const tenants = pgTable(
  "tenants",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    slug: text("slug").notNull(),
    name: text("name").notNull(),
    status: text("status", { enum: TENANT_STATUSES }).notNull().default("active"),
    plan: text("plan", { enum: PLANS }).notNull().default("free"),
    quotaOverrides: jsonb("quota_overrides").$type<Record<string, number>>().notNull().default({}),
    features: jsonb("features").$type<Record<string, boolean>>().notNull().default({}),
    settings: jsonb("settings").$type<Record<string, unknown>>().notNull().default({}),
    /** Normalised prefixes (`src/lib/cidr.ts`); empty: every address may call. */
    ipAllowlist: jsonb("ip_allowlist").$type<string[]>().notNull().default([]),
    ipAllowlistAppliesTo: text("ip_allowlist_applies_to", { enum: IP_ALLOWLIST_SCOPES })
      .notNull()
      .default("api_keys"),
    suspendedAt: timestamp("suspended_at", { withTimezone: true, mode: "date", precision: 3 }),
    suspendReason: text("suspend_reason"),
    isolation: text("isolation", { enum: ISOLATION_TIERS }).notNull().default("shared"),
    /** One of the deployment's REGIONS; a shared tenant's is the control database's. */
    region: text("region").notNull().default("us-east"),
    /** The database its own rows live in (`tenant_databases`); null: the control database. */
    databaseId: uuid("database_id"),
    /** The move under way (`tenant_moves`): while set, the tenant is read-only. */
    moveId: uuid("move_id"),
    /**
     * A dedicated tenant's endpoints are in its own database: whether it has an enabled one is
     * kept here, for the tenant record (its writes sweep only then) and for the webhook relay.
     */
    hasWebhooks: boolean("has_webhooks").notNull().default(false),
    deletedAt: timestamp("deleted_at", { withTimezone: true, mode: "date", precision: 3 }),
    ...timestamps,
  },
  (t) => [
    uniqueIndex("tenants_slug_key").on(t.slug),
    index("tenants_created_idx").on(t.createdAt, t.id),
    index("tenants_deleted_idx").on(t.deletedAt).where(sql`${t.status} = 'deleted'`),
    check("tenants_status_check", oneOf(t.status, TENANT_STATUSES)),
    check("tenants_plan_check", oneOf(t.plan, PLANS)),
    check(
      "tenants_ip_allowlist_check",
      sql`jsonb_typeof(${t.ipAllowlist}) = 'array' and jsonb_array_length(${t.ipAllowlist}) <= ${sql.raw(String(MAX_IP_ALLOWLIST))}`,
    ),
    check("tenants_ip_allowlist_applies_to_check", oneOf(t.ipAllowlistAppliesTo, IP_ALLOWLIST_SCOPES)),
    check("tenants_isolation_check", oneOf(t.isolation, ISOLATION_TIERS)),
    check("tenants_region_check", sql`${t.region} ~ '^[a-z0-9][a-z0-9-]{0,30}$'`),
    check(
      "tenants_dedicated_database_check",
      sql`(${t.isolation} = 'dedicated') = (${t.databaseId} is not null)`,
    ),
    check("tenants_slug_check", sql`${t.slug} ~ '^[a-z0-9](?:[a-z0-9-]{1,38}[a-z0-9])$'`),
    // Added NOT VALID (drizzle/0004): rows from before the rule are reported, not rejected.
    check(
      "tenants_slug_not_reserved_check",
      sql`${t.slug} <> all (${sql.raw(reservedSlugArray())}) and ${t.slug} !~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'`,
    ),
    ...tenantPolicies("tenants", t.id, { system: true }),
  ],
);

/** Users are global (one login, many tenants); they hold no tenant data, so no RLS. */
export const users = pgTable(
  "users",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    email: text("email").notNull(),
    name: text("name"),
    /**
     * The email in its comparison form (NFKC, lower case), set by a trigger on every write:
     * every lookup and the uniqueness rule use it. Null only for pre-existing rows that
     * collided when it was introduced (drizzle/0004 reports them).
     */
    emailNormalized: text("email_normalized"),
    passwordHash: text("password_hash"),
    /** Set for a temporary password: it stops working then, and must be changed at first use. */
    passwordExpiresAt: timestamp("password_expires_at", { withTimezone: true, mode: "date", precision: 3 }),
    mustChangePassword: boolean("must_change_password").notNull().default(false),
    /**
     * Carried by every access token as `ver`; bumping it (password change, logout-all,
     * console sign-out) invalidates every token issued before. `token_version_changed_at`
     * does the same for an external IdP's tokens, which carry no `ver`: older `iat`s fail.
     */
    tokenVersion: integer("token_version").notNull().default(0),
    tokenVersionChangedAt: timestamp("token_version_changed_at", {
      withTimezone: true,
      mode: "date",
      precision: 3,
    }),
    isSystemAdmin: boolean("is_system_admin").notNull().default(false),
    ...timestamps,
  },
  (t) => [
    uniqueIndex("users_email_key").on(sql`lower(${t.email})`),
    uniqueIndex("users_email_normalized_key").on(t.emailNormalized),
  ],
);

/**
 * An email's comparison form as the database computes it for `users.email_normalized` (a
 * trigger; NFKC, lower case): lookups compare with exactly what uniqueness was judged on.
 */
export function normalizedEmail(email: string): SQL {
  return sql`lower(normalize(${email}::text, NFKC))`;
}

export const tenantMemberships = pgTable(
  "tenant_memberships",
  {
    tenantId: uuid("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    role: text("role", { enum: ROLES }).notNull(),
    createdAt: timestamps.createdAt,
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.userId] }),
    index("tenant_memberships_user_idx").on(t.userId),
    index("tenant_memberships_tenant_created_idx").on(t.tenantId, t.createdAt),
    check("tenant_memberships_role_check", oneOf(t.role, ROLES)),
    ...tenantPolicies("tenant_memberships", t.tenantId, { system: true }),
  ],
);

export const invitations = pgTable(
  "invitations",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    tenantId: uuid("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    email: text("email").notNull(),
    role: text("role", { enum: ROLES }).notNull(),
    tokenHash: text("token_hash").notNull(),
    invitedBy: uuid("invited_by"),
    expiresAt: timestamp("expires_at", { withTimezone: true, mode: "date", precision: 3 }).notNull(),
    acceptedAt: timestamp("accepted_at", { withTimezone: true, mode: "date", precision: 3 }),
    revokedAt: timestamp("revoked_at", { withTimezone: true, mode: "date", precision: 3 }),
    createdAt: timestamps.createdAt,
  },
  (t) => [
    uniqueIndex("invitations_token_hash_key").on(t.tokenHash),
    index("invitations_tenant_created_idx").on(t.tenantId, t.createdAt, t.id),
    uniqueIndex("invitations_tenant_pending_email_key")
      .on(t.tenantId, sql`lower(normalize(${t.email}, NFKC))`)
      .where(sql`${t.acceptedAt} is null and ${t.revokedAt} is null`),
    check("invitations_role_check", oneOf(t.role, ROLES)),
    ...tenantPolicies("invitations", t.tenantId, { system: true }),
  ],
);

export const apiKeys = pgTable(
  "api_keys",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    tenantId: uuid("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    role: text("role", { enum: ROLES }).notNull(),
    /** The first characters of the secret: finds the row without scanning hashes. */
    prefix: text("prefix").notNull(),
    keyHash: text("key_hash").notNull(),
    /** After a rotation the old hash stays valid until `previous_expires_at`. */
    previousKeyHash: text("previous_key_hash"),
    previousExpiresAt: timestamp("previous_expires_at", { withTimezone: true, mode: "date", precision: 3 }),
    rateLimitPerHour: integer("rate_limit_per_hour"),
    createdBy: uuid("created_by"),
    lastUsedAt: timestamp("last_used_at", { withTimezone: true, mode: "date", precision: 3 }),
    expiresAt: timestamp("expires_at", { withTimezone: true, mode: "date", precision: 3 }),
    revokedAt: timestamp("revoked_at", { withTimezone: true, mode: "date", precision: 3 }),
    createdAt: timestamps.createdAt,
  },
  (t) => [
    uniqueIndex("api_keys_prefix_key").on(t.prefix),
    index("api_keys_tenant_created_idx").on(t.tenantId, t.createdAt, t.id),
    check("api_keys_role_check", oneOf(t.role, ROLES)),
    ...tenantPolicies("api_keys", t.tenantId, { system: false }),
  ],
);

export const clusters = pgTable(
  "clusters",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    tenantId: uuid("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    apiServerUrl: text("api_server_url").notNull(),
    region: text("region").notNull(),
    labels: jsonb("labels").$type<Record<string, string>>().notNull().default({}),
    ...timestamps,
  },
  (t) => [
    uniqueIndex("clusters_tenant_name_key").on(t.tenantId, t.name),
    index("clusters_tenant_created_idx").on(t.tenantId, t.createdAt, t.id),
    ...tenantPolicies("clusters", t.tenantId, { system: false }),
  ],
);

export const plugins = pgTable(
  "plugins",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    tenantId: uuid("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    version: text("version").notNull(),
    config: jsonb("config").$type<Record<string, unknown>>().notNull().default({}),
    ...timestamps,
  },
  (t) => [
    uniqueIndex("plugins_tenant_name_key").on(t.tenantId, t.name),
    index("plugins_tenant_created_idx").on(t.tenantId, t.createdAt, t.id),
    ...tenantPolicies("plugins", t.tenantId, { system: false }),
  ],
);

export const credentials = pgTable(
  "credentials",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    tenantId: uuid("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    kind: text("kind", { enum: CREDENTIAL_KINDS }).notNull(),
    /** AES-256-GCM under the tenant's data key; base64. */
    ciphertext: text("ciphertext").notNull(),
    iv: text("iv").notNull(),
    createdBy: uuid("created_by"),
    createdAt: timestamps.createdAt,
  },
  (t) => [
    uniqueIndex("credentials_tenant_name_key").on(t.tenantId, t.name),
    index("credentials_tenant_created_idx").on(t.tenantId, t.createdAt, t.id),
    check("credentials_kind_check", oneOf(t.kind, CREDENTIAL_KINDS)),
    ...tenantPolicies("credentials", t.tenantId, { system: false }),
  ],
);

/** The tenant's data key, wrapped by MASTER_KEY; re-wrapped on master key rotation. */
export const tenantKeys = pgTable(
  "tenant_keys",
  {
    tenantId: uuid("tenant_id")
      .primaryKey()
      .references(() => tenants.id, { onDelete: "cascade" }),
    wrappedKey: text("wrapped_key").notNull(),
    wrapIv: text("wrap_iv").notNull(),
    masterKeyId: text("master_key_id").notNull(),
    createdAt: timestamps.createdAt,
    rotatedAt: timestamp("rotated_at", { withTimezone: true, mode: "date", precision: 3 }),
  },
  (t) => [...tenantPolicies("tenant_keys", t.tenantId, { system: true })],
);

/**
 * The dedicated databases, in the control database only: where each lives (`provider`, `ref`:
 * a Neon project id or a local database name) and the runtime role's connection string,
 * sealed under MASTER_KEY and bound to this row and its tenant (services/tenancy/placement.ts).
 * A row outlives the tenant's use of it (`retired`) until the database is dropped.
 */
export const tenantDatabases = pgTable(
  "tenant_databases",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    tenantId: uuid("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    provider: text("provider", { enum: DATABASE_PROVIDERS }).notNull(),
    ref: text("ref").notNull(),
    region: text("region").notNull(),
    connectionSealed: text("connection_sealed").notNull(),
    status: text("status", { enum: TENANT_DATABASE_STATUSES }).notNull().default("ready"),
    createdAt: timestamps.createdAt,
    retiredAt: timestamp("retired_at", { withTimezone: true, mode: "date", precision: 3 }),
    droppedAt: timestamp("dropped_at", { withTimezone: true, mode: "date", precision: 3 }),
  },
  (t) => [
    index("tenant_databases_tenant_idx").on(t.tenantId, t.createdAt),
    uniqueIndex("tenant_databases_ref_key").on(t.provider, t.ref).where(sql`${t.status} <> 'dropped'`),
    check("tenant_databases_status_check", oneOf(t.status, TENANT_DATABASE_STATUSES)),
    check("tenant_databases_provider_check", oneOf(t.provider, DATABASE_PROVIDERS)),
    ...tenantPolicies("tenant_databases", t.tenantId, { system: true }),
  ],
);

/**
 * Moves between isolation tiers: a job the queue consumer runs off the request path. The
 * tenant's `move_id` names the one under way; `report` holds the row counts and content
 * hashes checked before the switch.
 */
export const tenantMoves = pgTable(
  "tenant_moves",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    tenantId: uuid("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    fromIsolation: text("from_isolation", { enum: ISOLATION_TIERS }).notNull(),
    fromDatabaseId: uuid("from_database_id"),
    toIsolation: text("to_isolation", { enum: ISOLATION_TIERS }).notNull(),
    toRegion: text("to_region").notNull(),
    toDatabaseId: uuid("to_database_id"),
    status: text("status", { enum: MOVE_STATUSES }).notNull().default("pending"),
    attempts: integer("attempts").notNull().default(0),
    lastError: text("last_error"),
    report: jsonb("report").$type<Record<string, unknown>>(),
    /** The earliest the copy may start: every isolate has seen the tenant read-only by then. */
    copyAfter: timestamp("copy_after", { withTimezone: true, mode: "date", precision: 3 }).notNull(),
    switchedAt: timestamp("switched_at", { withTimezone: true, mode: "date", precision: 3 }),
    completedAt: timestamp("completed_at", { withTimezone: true, mode: "date", precision: 3 }),
    ...timestamps,
  },
  (t) => [
    index("tenant_moves_tenant_created_idx").on(t.tenantId, t.createdAt, t.id),
    index("tenant_moves_open_idx")
      .on(t.updatedAt)
      .where(sql`${t.status} in ('pending', 'copying', 'switched', 'failed')`),
    check("tenant_moves_status_check", oneOf(t.status, MOVE_STATUSES)),
    check("tenant_moves_from_isolation_check", oneOf(t.fromIsolation, ISOLATION_TIERS)),
    check("tenant_moves_to_isolation_check", oneOf(t.toIsolation, ISOLATION_TIERS)),
    ...tenantPolicies("tenant_moves", t.tenantId, { system: true }),
  ],
);

/**
 * Append-only (the runtime role has no UPDATE/DELETE). `tenant_id` is null for system
 * records such as `tenant.purged`, which must outlive the tenant they describe.
 */
export const auditEvents = pgTable(
  "audit_events",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    tenantId: uuid("tenant_id").references(() => tenants.id, { onDelete: "cascade" }),
    actorType: text("actor_type", { enum: ACTOR_TYPES }).notNull(),
    actorId: text("actor_id"),
    action: text("action").notNull(),
    targetType: text("target_type"),
    targetId: text("target_id"),
    requestId: text("request_id"),
    ip: text("ip"),
    meta: jsonb("meta").$type<Record<string, unknown>>().notNull().default({}),
    createdAt: timestamps.createdAt,
  },
  (t) => [
    index("audit_events_tenant_created_idx").on(t.tenantId, t.createdAt, t.id),
    check("audit_events_actor_type_check", oneOf(t.actorType, ACTOR_TYPES)),
    ...tenantPolicies("audit_events", t.tenantId, { system: true }),
  ],
);

/** The outbox of the provisioning pipeline: written in the same transaction as the change. */
export const provisioningJobs = pgTable(
  "provisioning_jobs",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    tenantId: uuid("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    kind: text("kind", { enum: JOB_KINDS }).notNull(),
    status: text("status", { enum: JOB_STATUSES }).notNull().default("pending"),
    attempts: integer("attempts").notNull().default(0),
    lastError: text("last_error"),
    result: jsonb("result").$type<Record<string, unknown>>(),
    sentAt: timestamp("sent_at", { withTimezone: true, mode: "date", precision: 3 }),
    completedAt: timestamp("completed_at", { withTimezone: true, mode: "date", precision: 3 }),
    ...timestamps,
  },
  (t) => [
    index("provisioning_jobs_tenant_created_idx").on(t.tenantId, t.createdAt, t.id),
    index("provisioning_jobs_open_idx").on(t.updatedAt).where(sql`${t.status} in ('pending', 'sent')`),
    check("provisioning_jobs_kind_check", oneOf(t.kind, JOB_KINDS)),
    check("provisioning_jobs_status_check", oneOf(t.status, JOB_STATUSES)),
    ...tenantPolicies("provisioning_jobs", t.tenantId, { system: true }),
  ],
);

/**
 * The notifications outbox: one row per message to send, written in the same transaction as
 * the change it tells about and sent by the notifications queue's consumer. `id` is the
 * message id and the idempotency key of sending (a `sent` row is never sent again). `payload`
 * holds what the template needs and never a secret; the one secret a message may carry (an
 * invitation's token) is `sealed` under a MASTER_KEY subkey, bound to the row, and cleared
 * once the row is `sent` or `dead`.
 */
export const notifications = pgTable(
  "notifications",
  {
    id: uuid("id").primaryKey(),
    tenantId: uuid("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    channel: text("channel", { enum: NOTIFICATION_CHANNELS }).notNull(),
    /** An email address; a webhook endpoint's id once webhooks exist. */
    recipient: text("recipient").notNull(),
    template: text("template").notNull(),
    payload: jsonb("payload").$type<Record<string, unknown>>().notNull().default({}),
    sealed: text("sealed"),
    status: text("status", { enum: NOTIFICATION_STATUSES }).notNull().default("pending"),
    attempts: integer("attempts").notNull().default(0),
    lastError: text("last_error"),
    /** When the row is due: at creation, or after a failure its retry time; the reconciler resends overdue rows. */
    nextAttemptAt: timestamp("next_attempt_at", { withTimezone: true, mode: "date", precision: 3 })
      .notNull()
      .defaultNow(),
    createdAt: timestamps.createdAt,
    sentAt: timestamp("sent_at", { withTimezone: true, mode: "date", precision: 3 }),
  },
  (t) => [
    index("notifications_tenant_created_idx").on(t.tenantId, t.createdAt, t.id),
    index("notifications_due_idx").on(t.nextAttemptAt).where(sql`${t.status} in ('pending', 'failed')`),
    check("notifications_channel_check", oneOf(t.channel, NOTIFICATION_CHANNELS)),
    check("notifications_status_check", oneOf(t.status, NOTIFICATION_STATUSES)),
    ...tenantPolicies("notifications", t.tenantId, { system: true }),
  ],
);

/** How far a webhook delivery has got; `failed` rows wait for their next attempt. */
export const WEBHOOK_DELIVERY_STATUSES = ["pending", "delivered", "failed", "dead"] as const;
export type WebhookDeliveryStatus = (typeof WEBHOOK_DELIVERY_STATUSES)[number];

/**
 * A tenant's webhook endpoints (src/webhooks/). The signing secret is stored sealed under the
 * tenant's data key, like a credential, and never answered after create or rotate; during a
 * rotation the previous secret also signs until `previous_secret_expires_at`. `failing_since`
 * is the first failed delivery after the last success: an endpoint failing for 3 days is
 * disabled (`disabled_reason`) and its tenant's admins are emailed.
 */
export const webhookEndpoints = pgTable(
  "webhook_endpoints",
  {
    id: uuid("id").primaryKey(),
    tenantId: uuid("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    url: text("url").notNull(),
    description: text("description"),
    /** Event names and `prefix.*` patterns (src/webhooks/events.ts). */
    events: text("events").array().notNull(),
    enabled: boolean("enabled").notNull().default(true),
    secretCiphertext: text("secret_ciphertext").notNull(),
    secretIv: text("secret_iv").notNull(),
    previousSecretCiphertext: text("previous_secret_ciphertext"),
    previousSecretIv: text("previous_secret_iv"),
    previousSecretExpiresAt: timestamp("previous_secret_expires_at", {
      withTimezone: true,
      mode: "date",
      precision: 3,
    }),
    failingSince: timestamp("failing_since", { withTimezone: true, mode: "date", precision: 3 }),
    disabledReason: text("disabled_reason"),
    ...timestamps,
  },
  (t) => [
    index("webhook_endpoints_tenant_created_idx").on(t.tenantId, t.createdAt, t.id),
    ...tenantPolicies("webhook_endpoints", t.tenantId, { system: true }),
  ],
);

/**
 * The webhook outbox and delivery log: one row per (event, endpoint), written in the
 * transaction of the change by `tenantry_emit_webhook_event` (migration 0012), sent by the
 * webhooks queue's consumer. `id` is the Standard Webhooks `webhook-id` (the same on every
 * attempt and on a replay); `payload` is the body sent, `{id, type, created_at, tenant_id, data}`.
 * `locked_until` is a sender's lease, so a delivery is never sent by two consumers at once and
 * no transaction stays open while the endpoint answers.
 */
export const webhookDeliveries = pgTable(
  "webhook_deliveries",
  {
    id: uuid("id").primaryKey(),
    tenantId: uuid("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    endpointId: uuid("endpoint_id")
      .notNull()
      .references(() => webhookEndpoints.id, { onDelete: "cascade" }),
    eventId: uuid("event_id").notNull(),
    eventType: text("event_type").notNull(),
    payload: jsonb("payload").$type<Record<string, unknown>>().notNull(),
    status: text("status", { enum: WEBHOOK_DELIVERY_STATUSES }).notNull().default("pending"),
    attempts: integer("attempts").notNull().default(0),
    responseStatus: integer("response_status"),
    durationMs: integer("duration_ms"),
    lastError: text("last_error"),
    nextAttemptAt: timestamp("next_attempt_at", { withTimezone: true, mode: "date", precision: 3 })
      .notNull()
      .defaultNow(),
    /** When the row was last handed to the queue; null until then (the dispatcher's work list). */
    queuedAt: timestamp("queued_at", { withTimezone: true, mode: "date", precision: 3 }),
    lockedUntil: timestamp("locked_until", { withTimezone: true, mode: "date", precision: 3 }),
    createdAt: timestamps.createdAt,
    deliveredAt: timestamp("delivered_at", { withTimezone: true, mode: "date", precision: 3 }),
  },
  (t) => [
    index("webhook_deliveries_endpoint_created_idx").on(t.endpointId, t.createdAt, t.id),
    index("webhook_deliveries_unqueued_idx")
      .on(t.tenantId, t.createdAt)
      .where(sql`${t.queuedAt} is null and ${t.status} = 'pending'`),
    index("webhook_deliveries_due_idx").on(t.nextAttemptAt).where(sql`${t.status} in ('pending', 'failed')`),
    index("webhook_deliveries_tenant_type_idx").on(t.tenantId, t.eventType, t.createdAt),
    check("webhook_deliveries_status_check", oneOf(t.status, WEBHOOK_DELIVERY_STATUSES)),
    ...tenantPolicies("webhook_deliveries", t.tenantId, { system: true }),
  ],
);

/**
 * Webhook events of a dedicated tenant that happened in the control database (its identity
 * changes, lifecycle and provisioning): `tenantry_emit_webhook_event` writes them here, since
 * its endpoints live in its own database, and `src/webhooks/relay.ts` moves them there.
 */
export const webhookRelay = pgTable(
  "webhook_relay",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    tenantId: uuid("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    eventType: text("event_type").notNull(),
    data: jsonb("data").$type<Record<string, unknown>>().notNull(),
    createdAt: timestamps.createdAt,
  },
  (t) => [
    index("webhook_relay_tenant_created_idx").on(t.tenantId, t.createdAt),
    ...tenantPolicies("webhook_relay", t.tenantId, { system: true }),
  ],
);

/** In the database that emitted them: the relayed events, so a relay repeated emits once. */
export const webhookRelayed = pgTable(
  "webhook_relayed",
  {
    id: uuid("id").primaryKey(),
    tenantId: uuid("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    createdAt: timestamps.createdAt,
  },
  (t) => [
    index("webhook_relayed_created_idx").on(t.createdAt),
    ...tenantPolicies("webhook_relayed", t.tenantId, { system: true }),
  ],
);

/**
 * Stored first responses of POST creates. `tenant_id` is null for system-level creates
 * (POST /tenants), which are only ever made in system scope.
 */
export const idempotencyKeys = pgTable(
  "idempotency_keys",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    tenantId: uuid("tenant_id").references(() => tenants.id, { onDelete: "cascade" }),
    key: text("key").notNull(),
    route: text("route").notNull(),
    /** Who made the first request (`user:<id>`, `api_key:<id>`): keys are scoped per caller. */
    principal: text("principal").notNull().default(""),
    requestHash: text("request_hash").notNull(),
    statusCode: integer("status_code"),
    responseBody: jsonb("response_body"),
    createdAt: timestamps.createdAt,
    expiresAt: timestamp("expires_at", { withTimezone: true, mode: "date", precision: 3 }).notNull(),
  },
  (t) => [
    uniqueIndex("idempotency_keys_scope_key").on(
      sql`coalesce(${t.tenantId}, '00000000-0000-0000-0000-000000000000'::uuid)`,
      t.route,
      t.key,
      t.principal,
    ),
    index("idempotency_keys_expires_idx").on(t.expiresAt),
    ...tenantPolicies("idempotency_keys", t.tenantId, { system: true }),
  ],
);

/** A counter of one day: a tenant may make more than 2^31 calls in a day, never 2^53. */
const dayCounter = (name: string) => bigint(name, { mode: "number" }).notNull().default(0);

/**
 * Usage per tenant per UTC day, for cost attribution (kept 400 days). The counters are the
 * day's absolute values as the metrics counted them in Redis, rolled up by the five-minute cron
 * (`src/jobs/usage-rollup.ts`); rows per resource kind and the namespace quota in force are
 * snapshots taken by the same cron, null until the day's first snapshot.
 */
export const usageDaily = pgTable(
  "usage_daily",
  {
    tenantId: uuid("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    day: date("day", { mode: "string" }).notNull(),
    apiCalls2xx: dayCounter("api_calls_2xx"),
    apiCalls3xx: dayCounter("api_calls_3xx"),
    apiCalls4xx: dayCounter("api_calls_4xx"),
    apiCalls5xx: dayCounter("api_calls_5xx"),
    rateLimited: dayCounter("rate_limited"),
    quotaDenied: dayCounter("quota_denied"),
    credentialReveals: dayCounter("credential_reveals"),
    members: integer("members"),
    apiKeys: integer("api_keys"),
    clusters: integer("clusters"),
    plugins: integer("plugins"),
    credentials: integer("credentials"),
    cpuCores: doublePrecision("cpu_cores"),
    memoryGb: doublePrecision("memory_gb"),
    storageGb: doublePrecision("storage_gb"),
    gpus: doublePrecision("gpus"),
    snapshotAt: timestamp("snapshot_at", { withTimezone: true, mode: "date", precision: 3 }),
    updatedAt: timestamps.updatedAt,
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.day] }),
    // The retention purge and the system-wide listing select by day across tenants.
    index("usage_daily_day_idx").on(t.day),
    ...tenantPolicies("usage_daily", t.tenantId, { system: true }),
  ],
);
