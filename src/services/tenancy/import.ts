/**
 * Restore from an export (`POST /api/v1/tenants/{id}/import`): the body is the export's NDJSON,
 * read as a stream (beyond the 1 MiB JSON limit, up to MAX_IMPORT_BYTES), line by line into
 * open transactions, so memory stays flat and a bad line leaves nothing written.
 *
 * Two targets:
 * - **The same tenant after a purge** (`{id}` is the exported tenant's id and no such tenant
 *   exists): the tenant row comes back with its id, slug and settings, and every row keeps its
 *   id. The sealed bundle gives back the data key (still wrapped under MASTER_KEY, bound to
 *   that id) and the API key hashes, so credentials decrypt and keys work as they did.
 * - **Another tenant that holds nothing but what its creation made**: rows get new ids and
 *   the target's tenant id; credential values and webhook secrets are decrypted with the
 *   exported tenant's key and encrypted again under the target's (the additional data binds
 *   the tenant). API keys are not carried over: they name the exported tenant's slug, and a
 *   copy of someone's credentials is not a restore. Invitations never are (no tokens exported).
 *
 * Members come back as memberships of users that still exist; others are counted as skipped.
 * The target's own rows go to its own database (a dedicated tenant's), identity rows to the
 * control one; with two databases, the own rows' transaction commits first, inside the
 * control one's.
 */
import { count, eq, sql } from "drizzle-orm";
import type { AnyPgColumn, AnyPgTable } from "drizzle-orm/pg-core";
import { z } from "zod";
import { openConnection } from "../../databases/sealed-connection";
import {
  type Database,
  type HttpDatabase,
  openDatabase,
  type Tx,
  tenantSetting,
  withSystem,
} from "../../db/client";
import {
  apiKeys,
  auditEvents,
  clusters,
  credentials,
  plugins,
  tenantKeys,
  tenantMemberships,
  tenants,
  users,
  webhookEndpoints,
} from "../../db/schema";
import type { Config } from "../../env";
import { enqueueJob, type JobOutbox } from "../../jobs/producer";
import { clock } from "../../lib/clock";
import { Problem } from "../../lib/problem";
import { secretOwner, syncWebhookFlag } from "../../webhooks/endpoints";
import {
  DecryptionError,
  decryptValue,
  encryptValue,
  importMasterKey,
  type SealedValue,
  unwrapDataKey,
  type ValueOwner,
  type WebCryptoKey,
} from "../platform/crypto";
import { tenantDataKey } from "../resources/credentials";
import { type AuditContext, recordAudit } from "./audit";
import { openBundle, type RestoreBundle } from "./restore-bundle";
import { forgetTenant } from "./tenant-directory";

/** What a Worker request may carry (the platform's body cap on most plans). */
export const MAX_IMPORT_BYTES = 100 * 1024 * 1024;
/** One line of the export: a row, never megabytes (a credential value is at most 64 KiB, encrypted). */
const MAX_LINE_BYTES = 1024 * 1024;
/** Rows per insert statement. */
const CHUNK = 200;

export interface ImportContext {
  config: Config;
  audit: AuditContext;
  jobs: JobOutbox;
}

export interface ImportReport {
  tenant_id: string;
  source_tenant_id: string;
  mode: "restore" | "copy";
  imported: Record<string, number>;
  skipped: Record<string, number>;
  duration_ms: number;
}

const lineSchema = z.object({ type: z.string(), data: z.record(z.string(), z.unknown()) }).strict();
const tenantLineSchema = z.object({
  id: z.uuid(),
  slug: z.string(),
  name: z.string(),
  plan: z.enum(["free", "basic", "pro", "enterprise"]),
  quota_overrides: z.record(z.string(), z.number()),
  feature_overrides: z.record(z.string(), z.boolean()),
  settings: z.record(z.string(), z.unknown()),
  ip_allowlist: z.array(z.string()),
  ip_allowlist_applies_to: z.enum(["api_keys", "all"]),
});
const memberSchema = z.object({ user_id: z.uuid(), role: z.enum(["admin", "member", "viewer"]) });
const date = z.iso.datetime().transform((value) => new Date(value));
const clusterSchema = z.object({
  id: z.uuid(),
  name: z.string(),
  api_server_url: z.string(),
  region: z.string(),
  labels: z.record(z.string(), z.string()),
  created_by: z.uuid().nullable().optional(),
  created_at: date,
  updated_at: date,
});
const pluginSchema = z.object({
  id: z.uuid(),
  name: z.string(),
  version: z.string(),
  config: z.record(z.string(), z.unknown()),
  created_at: date,
  updated_at: date,
});
const credentialSchema = z.object({
  id: z.uuid(),
  name: z.string(),
  kind: z.enum(["token", "password", "ssh_key", "certificate", "kubeconfig"]),
  ciphertext: z.string(),
  iv: z.string(),
  created_by: z.uuid().nullable().optional(),
  created_at: date,
});
const auditSchema = z.object({
  id: z.uuid(),
  actor_type: z.enum(["user", "api_key", "system"]),
  actor_id: z.string().nullable(),
  action: z.string(),
  target_type: z.string().nullable(),
  target_id: z.string().nullable(),
  request_id: z.string().nullable(),
  ip: z.string().nullable(),
  meta: z.record(z.string(), z.unknown()),
  created_at: date,
});
const endSchema = z.object({ counts: z.record(z.string(), z.number().int().nonnegative()) });

/** Lines that are read but not restored: shown for people, or carried by the sealed bundle. */
const NOT_RESTORED = new Set(["invitation", "api_key", "webhook_endpoint"]);

/**
 * `targetId` is a uuid and `body` is not empty: the route checks both first (an unknown tenant
 * before anything about the body, as on every route).
 */
export async function importTenant(
  ctx: ImportContext,
  targetId: string,
  body: ReadableStream<Uint8Array>,
): Promise<ImportReport> {
  const started = clock.now();
  const target = targetId.toLowerCase();
  const lines = readLines(body)[Symbol.asyncIterator]();

  const first = await nextLine(lines);
  if (first?.value.type !== "tenant") throw invalid(1, 'An export starts with its "tenant" line.');
  const source = parse(tenantLineSchema, first.value.data, first.number);
  const second = await nextLine(lines);
  if (second?.value.type !== "sealed") {
    throw invalid(2, 'The "sealed" line must follow the tenant: this export cannot be restored.');
  }
  const bundle = await openSealed(ctx.config, source.id, second.value.data);

  const control = openDatabase(ctx.config);
  try {
    const existing = await withSystem(control.db, (tx) =>
      tx
        .select({
          id: tenants.id,
          slug: tenants.slug,
          status: tenants.status,
          moveId: tenants.moveId,
          databaseId: tenants.databaseId,
        })
        .from(tenants)
        .where(eq(tenants.id, target)),
    );
    const current = existing[0];
    const mode: ImportReport["mode"] = current ? "copy" : "restore";
    if (!current && target !== source.id) throw new Problem("tenant_not_found", "No such tenant.");
    if (current && target === source.id) {
      throw new Problem(
        "conflict",
        "This tenant still exists: an export restores into the same tenant only after its purge, or into another, empty tenant.",
      );
    }
    if (current?.status === "deleted") throw new Problem("tenant_not_found", "No such tenant.");
    if (current?.moveId)
      throw new Problem(
        "tenant_moving",
        "This tenant is moving between databases; import when it has finished.",
      );

    const data = current?.databaseId
      ? await dedicatedDatabase(ctx.config, control.db, target, current.databaseId)
      : undefined;
    try {
      const report: ImportReport = {
        tenant_id: target,
        source_tenant_id: source.id,
        mode,
        imported: {},
        skipped: {},
        duration_ms: 0,
      };
      const keys = await keysFor(ctx.config, control.http, mode, bundle, source.id, target);
      await withSystem(control.db, async (ctl) => {
        const work = async (own: Tx) => {
          const run = new ImportRun(ctl, own, { mode, source: source.id, target, keys, report });
          if (mode === "restore") await run.restoreTenant(source, bundle);
          else await run.requireEmpty();
          await run.webhookEndpoints(bundle);
          await run.rest(lines);
        };
        if (!data) return work(ctl);
        await data.db.transaction(async (own) => {
          await own.execute(tenantSetting(target));
          await work(own as Tx);
        });
      });
      // A dedicated target's endpoints are in its own database: the control database's flag follows.
      if (data) await syncWebhookFlag(control.http, data.http, target);
      // After both commits: the restored tenant's namespace comes back like any new tenant's.
      if (mode === "restore") {
        const job = await withSystem(control.db, (tx) => enqueueJob(tx, target, "provision"));
        ctx.jobs.sendAfterCommit([job]);
      }
      await withSystem(control.db, (tx) =>
        recordAudit(tx, ctx.audit, {
          tenantId: target,
          action: "tenant.imported",
          targetType: "tenant",
          targetId: target,
          meta: { mode, source_tenant_id: source.id, imported: report.imported, skipped: report.skipped },
        }),
      );
      // This isolate may remember the tenant as it was (none, or without its endpoints).
      forgetTenant({ id: target, slug: current?.slug ?? source.slug });
      report.duration_ms = clock.now() - started;
      return report;
    } finally {
      await data?.close();
    }
  } finally {
    await control.close();
  }
}

interface Keys {
  /** The exported tenant's data key (a copy decrypts with it). */
  source?: WebCryptoKey;
  /** The target's (a copy encrypts with it). */
  target?: WebCryptoKey;
}

async function keysFor(
  config: Config,
  control: HttpDatabase,
  mode: ImportReport["mode"],
  bundle: RestoreBundle,
  sourceId: string,
  targetId: string,
): Promise<Keys> {
  if (mode === "restore" || !bundle.tenant_key) return {};
  const master = await importMasterKey(config.MASTER_KEY);
  try {
    return {
      source: await unwrapDataKey(master, wrappedKeyOf(bundle.tenant_key), sourceId),
      target: await tenantDataKey({ http: control, config }, targetId, { create: true }),
    };
  } catch (err) {
    if (err instanceof DecryptionError) {
      throw invalid(2, "The exported data key does not unwrap under this deployment's MASTER_KEY.");
    }
    throw err;
  }
}

class ImportRun {
  private readonly expected = new Map<string, number>();
  private ended = false;

  constructor(
    private readonly control: Tx,
    private readonly own: Tx,
    private readonly opts: {
      mode: ImportReport["mode"];
      source: string;
      target: string;
      keys: Keys;
      report: ImportReport;
    },
  ) {}

  private count(kind: "imported" | "skipped", type: string, n = 1): void {
    const bucket = this.opts.report[kind];
    bucket[type] = (bucket[type] ?? 0) + n;
  }

  /** A restore: the tenant row, its data key and its API keys, with their ids. */
  async restoreTenant(source: z.infer<typeof tenantLineSchema>, bundle: RestoreBundle): Promise<void> {
    const taken = await this.control
      .select({ id: tenants.id })
      .from(tenants)
      .where(eq(tenants.slug, source.slug));
    if (taken.length > 0) {
      throw new Problem("slug_taken", `The slug "${source.slug}" now belongs to another tenant.`);
    }
    const now = new Date(clock.now());
    await this.control.insert(tenants).values({
      id: source.id,
      slug: source.slug,
      name: source.name,
      plan: source.plan,
      quotaOverrides: source.quota_overrides,
      features: source.feature_overrides,
      settings: source.settings,
      ipAllowlist: source.ip_allowlist,
      ipAllowlistAppliesTo: source.ip_allowlist_applies_to,
      createdAt: now,
      updatedAt: now,
    });
    await this.control.execute(tenantSetting(source.id));
    if (bundle.tenant_key) {
      await this.control
        .insert(tenantKeys)
        .values({ tenantId: source.id, ...wrappedKeyOf(bundle.tenant_key) });
    }
    const keys = bundle.api_keys.map((key) => ({
      id: key.id,
      tenantId: source.id,
      name: key.name,
      role: key.role,
      prefix: key.prefix,
      keyHash: key.key_hash,
      previousKeyHash: key.previous_key_hash,
      previousExpiresAt: dateOrNull(key.previous_expires_at),
      rateLimitPerHour: key.rate_limit_per_hour,
      createdBy: null,
      lastUsedAt: dateOrNull(key.last_used_at),
      expiresAt: dateOrNull(key.expires_at),
      revokedAt: dateOrNull(key.revoked_at),
      createdAt: new Date(key.created_at),
    }));
    if (keys.length > 0) await this.control.insert(apiKeys).values(keys);
    this.count("imported", "tenant");
    this.count("imported", "api_key", bundle.api_keys.length);
  }

  /** A copy goes only into a tenant with nothing of its own yet but its first admin and key. */
  async requireEmpty(): Promise<void> {
    const { target } = this.opts;
    await this.control.execute(tenantSetting(target));
    await this.own.execute(tenantSetting(target));
    const owned = async (tx: Tx, table: AnyPgTable & { tenantId: AnyPgColumn }) => {
      const [row] = await tx.select({ n: count() }).from(table).where(eq(table.tenantId, target));
      return row?.n ?? 0;
    };
    const resources =
      (await owned(this.own, clusters)) +
      (await owned(this.own, plugins)) +
      (await owned(this.own, credentials)) +
      (await owned(this.own, webhookEndpoints));
    const members = await owned(this.control, tenantMemberships);
    const keys = await owned(this.control, apiKeys);
    if (resources > 0 || members > 1 || keys > 1) {
      throw new Problem(
        "conflict",
        "An export is imported only into a tenant that holds nothing but what its creation made.",
      );
    }
  }

  async webhookEndpoints(bundle: RestoreBundle): Promise<void> {
    const { mode, source, target } = this.opts;
    const rows: Array<typeof webhookEndpoints.$inferInsert> = [];
    for (const endpoint of bundle.webhook_endpoints) {
      const id = mode === "restore" ? endpoint.id : crypto.randomUUID();
      const secret = await this.reencrypt(
        { ciphertext: endpoint.secret_ciphertext, iv: endpoint.secret_iv },
        secretOwner(source, endpoint.id),
        secretOwner(target, id),
        { line: 2, what: "A webhook endpoint's secret" },
      );
      rows.push({
        id,
        tenantId: target,
        url: endpoint.url,
        description: endpoint.description,
        events: endpoint.events,
        enabled: endpoint.enabled,
        secretCiphertext: secret.ciphertext,
        secretIv: secret.iv,
        // A rotation's grace is not carried into a copy: the old secret was the source's.
        previousSecretCiphertext: mode === "restore" ? endpoint.previous_secret_ciphertext : null,
        previousSecretIv: mode === "restore" ? endpoint.previous_secret_iv : null,
        previousSecretExpiresAt: mode === "restore" ? dateOrNull(endpoint.previous_secret_expires_at) : null,
        failingSince: null,
        disabledReason: endpoint.disabled_reason,
        createdAt: new Date(endpoint.created_at),
        updatedAt: new Date(endpoint.updated_at),
      });
    }
    if (rows.length > 0) await this.own.insert(webhookEndpoints).values(rows);
    this.count("imported", "webhook_endpoint", rows.length);
  }

  /** Every line after the sealed one, in chunks, checked against the `end` line's counts. */
  async rest(lines: AsyncIterator<Line>): Promise<void> {
    const pending = new Map<string, Array<Record<string, unknown>>>();
    const seen = new Map<string, number>([
      ["tenant", 1],
      ["sealed", 1],
    ]);
    // Rows copied in were events when they first happened: no webhook events now.
    await this.own.execute(sql`select set_config('app.copying', 'on', true)`);
    for (;;) {
      const line = await nextLine(lines);
      if (!line) break;
      if (this.ended) throw invalid(line.number, 'Nothing may follow the "end" line.');
      const { type, data } = line.value;
      if (type === "end") {
        for (const [counted, n] of Object.entries(parse(endSchema, data, line.number).counts)) {
          this.expected.set(counted, n);
        }
        this.ended = true;
        continue;
      }
      seen.set(type, (seen.get(type) ?? 0) + 1);
      if (NOT_RESTORED.has(type)) {
        if (type === "invitation") this.count("skipped", type);
        continue;
      }
      const row = await this.row(type, data, line.number);
      if (!row) continue;
      const list = pending.get(type) ?? [];
      list.push(row);
      pending.set(type, list);
      if (list.length >= CHUNK) await this.flush(type, pending);
    }
    if (!this.ended) throw invalid(0, 'The export ends without its "end" line: it was cut short.');
    for (const type of pending.keys()) await this.flush(type, pending);
    for (const [type, n] of this.expected) {
      // The end line counts itself.
      if (type !== "end" && (seen.get(type) ?? 0) !== n) {
        throw invalid(
          0,
          `The export says it holds ${n} "${type}" lines, and ${seen.get(type) ?? 0} arrived.`,
        );
      }
    }
  }

  /** One line as the row to insert (for the target), or undefined when it is skipped. */
  private async row(type: string, data: Record<string, unknown>, number: number) {
    const { mode, source, target } = this.opts;
    const id = (original: string) => (mode === "restore" ? original : crypto.randomUUID());
    switch (type) {
      case "member": {
        const member = parse(memberSchema, data, number);
        return { userId: member.user_id, role: member.role };
      }
      case "cluster": {
        const cluster = parse(clusterSchema, data, number);
        return { ...camelKeys(cluster), id: id(cluster.id), tenantId: target };
      }
      case "plugin": {
        const plugin = parse(pluginSchema, data, number);
        return { ...camelKeys(plugin), id: id(plugin.id), tenantId: target };
      }
      case "credential": {
        const credential = parse(credentialSchema, data, number);
        const newId = id(credential.id);
        const sealed = await this.reencrypt(
          { ciphertext: credential.ciphertext, iv: credential.iv },
          { tenantId: source, credentialId: credential.id },
          { tenantId: target, credentialId: newId },
          { line: number, what: "A credential" },
        );
        return { ...camelKeys(credential), ...sealed, id: newId, tenantId: target };
      }
      case "audit_event": {
        const event = parse(auditSchema, data, number);
        return {
          ...camelKeys(event),
          id: id(event.id),
          tenantId: target,
          meta: mode === "copy" ? { ...event.meta, imported_from: source } : event.meta,
        };
      }
      default:
        throw invalid(number, `Unknown line type "${type}".`);
    }
  }

  /**
   * A copy decrypts a value with the exported tenant's key and encrypts it again under the
   * target's, bound to its new owner; a restore keeps it as it was (same tenant, same id).
   */
  private async reencrypt(
    sealed: SealedValue,
    from: ValueOwner,
    to: ValueOwner,
    where: { line: number; what: string },
  ): Promise<SealedValue> {
    const { mode, keys } = this.opts;
    if (mode === "restore") return sealed;
    if (!keys.source || !keys.target)
      throw invalid(where.line, `${where.what} has no data key in the export.`);
    try {
      return await encryptValue(keys.target, await decryptValue(keys.source, sealed, from), to);
    } catch (err) {
      if (err instanceof DecryptionError) {
        throw invalid(where.line, `${where.what} does not decrypt with the exported data key.`);
      }
      throw err;
    }
  }

  private async flush(type: string, pending: Map<string, Array<Record<string, unknown>>>): Promise<void> {
    const rows = pending.get(type) ?? [];
    pending.set(type, []);
    if (rows.length === 0) return;
    const { target } = this.opts;
    switch (type) {
      case "member": {
        // Users are global and outlive a purge; one deleted meanwhile is skipped.
        const members = rows as Array<{ userId: string; role: "admin" | "member" | "viewer" }>;
        const json = JSON.stringify(members.map((m) => ({ user_id: m.userId, role: m.role })));
        const { rows: inserted } = await this.control.execute<{ user_id: string }>(
          sql`insert into ${tenantMemberships} (tenant_id, user_id, role)
              select ${target}::uuid, u.id, m.role
              from jsonb_to_recordset(${json}::jsonb) as m(user_id uuid, role text)
              join ${users} u on u.id = m.user_id
              on conflict do nothing
              returning user_id`,
        );
        this.count("imported", "member", inserted.length);
        this.count("skipped", "member", members.length - inserted.length);
        return;
      }
      case "cluster":
        await this.own.insert(clusters).values(rows as never);
        break;
      case "plugin":
        await this.own.insert(plugins).values(rows as never);
        break;
      case "credential":
        await this.own.insert(credentials).values(rows as never);
        break;
      case "audit_event":
        await this.own.insert(auditEvents).values(rows as never);
        break;
    }
    this.count("imported", type, rows.length);
  }
}

interface Line {
  number: number;
  value: z.infer<typeof lineSchema>;
}

async function nextLine(lines: AsyncIterator<Line>): Promise<Line | undefined> {
  const next = await lines.next();
  return next.done ? undefined : next.value;
}

/** The body's lines, parsed, with their numbers; blank lines are skipped. */
async function* readLines(body: ReadableStream<Uint8Array>): AsyncGenerator<Line> {
  const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });
  const reader = body.getReader();
  let buffered = "";
  let total = 0;
  let number = 0;
  const parseLine = (text: string): Line | undefined => {
    number += 1;
    if (text.trim() === "") return undefined;
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new Problem("malformed_json", `Line ${number} is not valid JSON.`);
    }
    return { number, value: parse(lineSchema, json, number) };
  };
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > MAX_IMPORT_BYTES) {
        throw new Problem("payload_too_large", `An import is limited to ${MAX_IMPORT_BYTES} bytes.`);
      }
      try {
        buffered += decoder.decode(value, { stream: true });
      } catch {
        throw new Problem("malformed_json", "The body is not valid UTF-8.");
      }
      let newline = buffered.indexOf("\n");
      while (newline >= 0) {
        const line = parseLine(buffered.slice(0, newline));
        buffered = buffered.slice(newline + 1);
        if (line) yield line;
        newline = buffered.indexOf("\n");
      }
      if (buffered.length > MAX_LINE_BYTES)
        throw invalid(number + 1, `A line is limited to ${MAX_LINE_BYTES} bytes.`);
    }
    const last = parseLine(buffered + decoder.decode());
    if (last) yield last;
  } finally {
    await reader.cancel().catch(() => {});
  }
}

function parse<S extends z.ZodType>(schema: S, value: unknown, line: number): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw invalid(
    line,
    `Line ${line}: ${issue?.path.join(".") || "the line"}: ${issue?.message ?? "invalid"}.`,
  );
}

function invalid(line: number, detail: string): Problem {
  return new Problem("validation_failed", detail, {
    extensions: {
      errors: [{ path: line > 0 ? `line ${line}` : "body", message: detail, code: "invalid_value" }],
    },
  });
}

async function openSealed(
  config: Config,
  tenantId: string,
  data: Record<string, unknown>,
): Promise<RestoreBundle> {
  const sealed = typeof data.sealed === "string" ? data.sealed : undefined;
  if (!sealed) throw invalid(2, 'The "sealed" line carries no bundle.');
  try {
    return await openBundle(config.MASTER_KEY, tenantId, sealed);
  } catch (err) {
    if (err instanceof DecryptionError || err instanceof z.ZodError || err instanceof SyntaxError) {
      throw invalid(
        2,
        "The export was sealed by another deployment, for another tenant, or altered: it cannot be restored here.",
      );
    }
    throw err;
  }
}

/** A dedicated target's own database, for an interactive transaction. */
async function dedicatedDatabase(config: Config, control: Database, tenantId: string, databaseId: string) {
  const [row] = await withSystem(control, (tx) =>
    tx.execute<{ connection_sealed: string }>(
      sql`select connection_sealed from tenant_databases where id = ${databaseId}::uuid and tenant_id = ${tenantId}::uuid`,
    ),
  ).then((result) => result.rows);
  if (!row) throw new Error(`tenant ${tenantId} points at database ${databaseId}, which has no row`);
  const connection = await openConnection(config.MASTER_KEY, { tenantId, databaseId }, row.connection_sealed);
  return openDatabase(config, connection);
}

/** A parsed line's fields under the schema's (camel-case) names. */
function camelKeys<T extends Record<string, unknown>>(row: T): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(row).map(([key, value]) => [
      key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()),
      value,
    ]),
  );
}

/** The bundle's data key as `tenant_keys` holds it (still wrapped under MASTER_KEY). */
function wrappedKeyOf(key: NonNullable<RestoreBundle["tenant_key"]>) {
  return { wrappedKey: key.wrapped_key, wrapIv: key.wrap_iv, masterKeyId: key.master_key_id };
}

function dateOrNull(value: string | null): Date | null {
  return value === null ? null : new Date(value);
}
