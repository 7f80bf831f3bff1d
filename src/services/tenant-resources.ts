/**
 * The shared shape of a tenant's named resources (clusters, plugins, credentials): keyset-paged
 * list, get and delete, each filtered on `tenant_id` on top of RLS, every write audited in the
 * transaction of the change, a taken name answered with 409 and an unknown id with 404; and
 * for the plain ones (clusters, plugins) create and update as well.
 */
import { and, eq, getTableColumns } from "drizzle-orm";
import type { SelectResultFields } from "drizzle-orm/query-builders/select.types";
import { batchAsTenant, type HttpDatabase, type Tx } from "../db/client";
import type { clusters, credentials, plugins } from "../db/schema";
import type { Config } from "../env";
import { clock } from "../lib/clock";
import { keyset, type PageQuery, toPage } from "../lib/pagination";
import { Problem } from "../lib/problem";
import { type AuditContext, recordAudit } from "./audit";
import type { CountQuota } from "./plans";
import { enforceCountQuota } from "./quotas";
import type { ResolvedTenant } from "./tenant-directory";
import { uniqueName } from "./unique-names";

/** Who writes, in which tenant, under which configuration: what every write needs besides its input. */
export interface WriteContext {
  tenant: ResolvedTenant;
  audit: AuditContext;
  userId: string | null;
  config: Config;
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
  create: (tx: Tx, write: WriteContext, input: Create) => Promise<Item>;
  update?: (tx: Tx, write: WriteContext, id: string, input: Update) => Promise<Item>;
  remove: (tx: Tx, write: WriteContext, id: string) => Promise<void>;
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

/** Records `<type>.<verb>` for the resource in the write's transaction. */
export function auditResource(
  tx: Tx,
  write: WriteContext,
  type: string,
  verb: string,
  id: string,
  meta: Record<string, unknown>,
): Promise<void> {
  return recordAudit(tx, write.audit, {
    tenantId: write.tenant.id,
    action: `${type}.${verb}`,
    targetType: type,
    targetId: id,
    meta,
  });
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

    async remove(tx: Tx, write: WriteContext, id: string): Promise<void> {
      const [row] = await tx
        .delete(table)
        .where(one(write.tenant.id, id))
        .returning({ id: table.id, name: table.name });
      if (!row) throw missing();
      await auditResource(tx, write, type, "deleted", row.id, { name: row.name });
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

    async create(tx, write, input) {
      await enforceCountQuota(tx, write.tenant, spec.quota);
      const values = { ...spec.columns(input), name: input.name, tenantId: write.tenant.id };
      const [row] = await uniqueName(
        tx
          .insert(table)
          .values(values as T["$inferInsert"])
          .returning(),
        taken,
      );
      if (!row) throw new Error("insert returned no row");
      await auditResource(tx, write, type, "created", row.id, { name: row.name });
      return answer(row);
    },

    async update(tx, write, id, input) {
      const [row] = await uniqueName(
        tx
          .update(table)
          .set({ ...spec.columns(input), name: input.name, updatedAt: new Date(clock.now()) })
          .where(rows.one(write.tenant.id, id))
          .returning(),
        taken,
      );
      if (!row) throw rows.missing();
      await auditResource(tx, write, type, "updated", row.id, {
        name: row.name,
        fields: Object.keys(input).sort(),
      });
      return answer(row);
    },
  };
}
