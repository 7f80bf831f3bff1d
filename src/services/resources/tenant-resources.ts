/**
 * The shared shape of a tenant's named resources (clusters, plugins, credentials): keyset-paged
 * list, get and delete, each filtered on `tenant_id` on top of RLS, every write audited in the
 * transaction of the change, a taken name answered with 409 and an unknown id with 404; and
 * for the plain ones (clusters, plugins) create and update as well.
 */
import { and, eq, getTableColumns, type SQL, sql } from "drizzle-orm";
import type { PgTable } from "drizzle-orm/pg-core";
import type { SelectResultFields } from "drizzle-orm/query-builders/select.types";
import { batchAsTenant, type HttpDatabase } from "../../db/client";
import { type clusters, type credentials, type plugins, tenants } from "../../db/schema";
import { WriteBatch } from "../../db/write-batch";
import type { Config } from "../../env";
import { clock } from "../../lib/clock";
import { keyset, type PageQuery, toPage } from "../../lib/pagination";
import { Problem } from "../../lib/problem";
import { claimInBatch, type PendingClaim } from "../platform/idempotency";
import { type AuditContext, auditInsert } from "../tenancy/audit";
import type { CountQuota } from "../tenancy/plans";
import { guardCountQuota } from "../tenancy/quotas";
import type { ResolvedTenant } from "../tenancy/tenant-directory";
import { uniqueName } from "./unique-names";

/** Who writes, in which tenant, under which configuration: what every write needs besides its input. */
export interface WriteContext {
  tenant: ResolvedTenant;
  audit: AuditContext;
  userId: string | null;
  config: Config;
  /** The control database: identity tables and the tenant's data key. */
  http: HttpDatabase;
  /**
   * The database of the tenant's own rows, where its writes go (one SQL-over-HTTP batch per
   * write): `http` itself for a shared tenant (src/databases/routing.ts).
   */
  data: HttpDatabase;
  /** The request's Idempotency-Key, claimed by the write's batch (creates only). */
  idempotency?: PendingClaim;
}

/**
 * The batch of one write in the tenant: pinned to it, and claiming the request's
 * Idempotency-Key first when it carries one.
 */
export function tenantWrite(write: WriteContext): WriteBatch {
  return writeIn(write.data, write);
}

/**
 * The batch of a write to the tenant's identity rows (members, invitations, API keys): in the
 * control database, where authentication reads them, whichever database holds its own rows;
 * its audit record and Idempotency-Key record go there too.
 */
export function identityWrite(write: WriteContext): WriteBatch {
  return writeIn(write.http, write);
}

function writeIn(db: HttpDatabase, write: WriteContext): WriteBatch {
  const batch = new WriteBatch(db, { tenantId: write.tenant.id });
  guardHome(batch, write.tenant);
  if (write.idempotency) claimInBatch(batch, write.idempotency);
  return batch;
}

/**
 * Refuses the batch with 409 `tenant_moving` unless this database is still the tenant's home,
 * as the request believes (`databaseId`), and no move is under way. An isolate whose cached
 * tenant record predates a move, or its switch, is refused here rather than write where the
 * rows no longer live. FOR KEY SHARE holds the row until commit, so a move marking the tenant
 * (which locks it FOR UPDATE) waits for writes under way, and copies what they wrote.
 */
export function guardHome(batch: WriteBatch, tenant: { id: string; databaseId: string | null }): void {
  batch.failWhen(
    sql`not exists (select 1 from ${tenants} where ${tenants.id} = ${tenant.id} and ${tenants.moveId} is null and ${tenants.databaseId} is not distinct from ${tenant.databaseId}::uuid for key share)`,
    {
      code: "tenant_moving",
      detail: "This tenant is moving between databases, or has just moved; try again shortly.",
    },
  );
}

/**
 * Locks the row `where` selects for the rest of the batch and fails with `missing` when there
 * is none: the statements after it may rely on the row, as they are.
 */
export function requireRow(
  batch: WriteBatch,
  table: PgTable,
  where: SQL | undefined,
  missing: Problem,
): void {
  batch.do(sql`select 1 from ${table} where ${where} for update`);
  batch.failWhen(sql`not exists (select 1 from ${table} where ${where})`, {
    code: missing.code,
    detail: missing.message,
  });
}

export interface Page<Item> {
  data: Item[];
  next_cursor: string | null;
}

/**
 * What the generic route handlers call; `update` only for resources that can be patched.
 * Function properties, not methods, so that inputs are checked strictly against the routes' schemas.
 */
export interface TenantResourceService<Item, Create, Update = never> {
  /** Reads take the HTTP database: one round trip each (RLS setting + query in one batch). */
  list: (http: HttpDatabase, tenantId: string, query: PageQuery) => Promise<Page<Item>>;
  get: (http: HttpDatabase, tenantId: string, id: string) => Promise<Item>;
  /** Writes are one round trip each too: one batch (`tenantWrite`). */
  create: (write: WriteContext, input: Create) => Promise<Item>;
  update?: (write: WriteContext, id: string, input: Update) => Promise<Item>;
  remove: (write: WriteContext, id: string) => Promise<void>;
}

type OwnedTable = typeof clusters | typeof plugins | typeof credentials;
type KeyColumns = Pick<OwnedTable["_"]["columns"], "id" | "name" | "createdAt">;

export type OwnedItem<Fields> = { id: string; name: string } & Fields & { created_at: string };

interface OwnedRowsSpec<S extends KeyColumns, Fields> {
  table: OwnedTable;
  /** The audit target type and action prefix (`cluster` → `cluster.deleted`), and the noun in errors. */
  type: string;
  /** The columns read to answer: a credential's ciphertext is never among them. */
  columns: S;
  /** The resource's own fields in API shape (id, name and created_at are added). */
  present(row: SelectResultFields<S>): Fields;
}

/**
 * Records `<type>.<verb>` for the resource in the write's batch. `meta` values may be SQL
 * (what only the database knows, such as the name of the row a delete removes).
 */
export function auditResource(
  batch: WriteBatch,
  write: WriteContext,
  type: string,
  verb: string,
  id: string,
  meta: Record<string, unknown> | SQL,
): void {
  batch.do(
    auditInsert(batch.db, write.audit, {
      tenantId: write.tenant.id,
      action: `${type}.${verb}`,
      targetType: type,
      targetId: id,
      meta,
    }),
  );
}

/** List, get and delete over a tenant's rows, reading only `spec.columns`. */
export function ownedRows<S extends KeyColumns, Fields>(spec: OwnedRowsSpec<S, Fields>) {
  type Row = SelectResultFields<S>;
  const { table, type } = spec;
  // Drizzle cannot type a query over a generic selection, so queries select through the
  // tables' common view of the columns; the rows they return carry exactly `spec.columns`.
  const selection: KeyColumns = spec.columns;
  const missing = () => new Problem("not_found", `No such ${type}.`);
  const present = (row: Row): OwnedItem<Fields> => ({
    id: row.id,
    name: row.name,
    ...spec.present(row),
    created_at: row.createdAt.toISOString(),
  });
  const one = (tenantId: string, id: string) => and(eq(table.tenantId, tenantId), eq(table.id, id));

  return {
    present,
    missing,
    one,

    async list(http: HttpDatabase, tenantId: string, query: PageQuery): Promise<Page<OwnedItem<Fields>>> {
      const page = keyset(table, query);
      const rows = await batchAsTenant(http, tenantId, (db) =>
        db
          .select(selection)
          .from(table)
          .where(and(eq(table.tenantId, tenantId), page.after))
          .orderBy(...page.orderBy)
          .limit(page.take),
      );
      return toPage(rows as Row[], query.limit, present);
    },

    async get(http: HttpDatabase, tenantId: string, id: string): Promise<OwnedItem<Fields>> {
      const [row] = await batchAsTenant(http, tenantId, (db) =>
        db.select(selection).from(table).where(one(tenantId, id)),
      );
      if (!row) throw missing();
      return present(row as Row);
    },

    async remove(write: WriteContext, id: string): Promise<void> {
      const batch = tenantWrite(write);
      const where = one(write.tenant.id, id);
      requireRow(batch, table, where, missing());
      auditResource(
        batch,
        write,
        type,
        "deleted",
        id,
        sql`jsonb_build_object('name', ${nameOf(table, where)})`,
      );
      batch.do(batch.db.delete(table).where(where));
      await batch.run();
    },
  };
}

type PlainTable = typeof clusters | typeof plugins;

interface NamedResourceSpec<T extends PlainTable, Input extends { name: string }, Fields> {
  table: T;
  type: string;
  /** The count quota a create must fit in. */
  quota: CountQuota;
  present(row: SelectResultFields<T["_"]["columns"]>): Fields;
  /** The resource's own API input → column values; drizzle leaves undefined (absent) fields untouched. */
  columns(input: Partial<Input>): Partial<T["$inferInsert"]>;
  /** The column defaults a create relies on, so its answer is known before the insert. */
  defaults: Partial<T["$inferInsert"]>;
}

export type NamedItem<Fields> = OwnedItem<Fields & { updated_at: string }>;

/** The full set for resources without secrets: every column is answered, and all can be changed. */
export function namedResource<T extends PlainTable, Input extends { name: string }, Fields>(
  spec: NamedResourceSpec<T, Input, Fields>,
): Required<TenantResourceService<NamedItem<Fields>, Input, Partial<Input>>> {
  type Row = SelectResultFields<T["_"]["columns"]>;
  const { type } = spec;
  // As in `ownedRows`: queries go through the two tables' common view, and a row they
  // return (every column) is a row of `spec.table`.
  const table: PlainTable = spec.table;
  const rows = ownedRows({
    table,
    type,
    columns: getTableColumns(spec.table),
    present: (row) => ({ ...spec.present(row), updated_at: row.updatedAt.toISOString() }),
  });
  const answer = (row: PlainTable["$inferSelect"]) => rows.present(row as Row);
  const taken = `A ${type} with this name already exists.`;

  return {
    list: rows.list,
    get: rows.get,
    remove: rows.remove,

    async create(write, input) {
      const batch = tenantWrite(write);
      guardCountQuota(batch, write.tenant, spec.quota);
      // Every value is decided here, so the answer is known before the batch runs (and can
      // be stored with it for an idempotent replay).
      const now = new Date(clock.now());
      const row = {
        ...spec.defaults,
        ...definedOnly(spec.columns(input)),
        id: crypto.randomUUID(),
        tenantId: write.tenant.id,
        name: input.name,
        createdAt: now,
        updatedAt: now,
      } as PlainTable["$inferSelect"];
      batch.do(batch.db.insert(table).values(row));
      auditResource(batch, write, type, "created", row.id, { name: row.name });
      const item = answer(row);
      await uniqueName(batch.run({ status: 201, body: item }), taken);
      return item;
    },

    async update(write, id, input) {
      const batch = tenantWrite(write);
      const where = rows.one(write.tenant.id, id);
      requireRow(batch, table, where, rows.missing());
      const updated = batch.add(
        batch.db
          .update(table)
          .set({ ...spec.columns(input), name: input.name, updatedAt: new Date(clock.now()) })
          .where(where)
          .returning(),
      );
      auditResource(
        batch,
        write,
        type,
        "updated",
        id,
        sql`jsonb_build_object('name', ${nameOf(table, where)}, 'fields', ${JSON.stringify(Object.keys(input).sort())}::jsonb)`,
      );
      await uniqueName(batch.run(), taken);
      const [row] = updated.value;
      if (!row) throw new Error("update returned no row");
      return answer(row);
    },
  };
}

/** `{"name": <the row's name>}`, read by the database in the batch (the row is locked by then). */
function nameOf(table: OwnedTable, where: SQL | undefined): SQL {
  return sql`(select ${table.name} from ${table} where ${where})`;
}

function definedOnly<T extends object>(values: T): Partial<T> {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined)) as Partial<T>;
}
