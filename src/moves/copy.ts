/**
 * Copies a tenant's own rows from one database to another, table by table in the order of
 * `tenantry_tenant_tables()` (parents first), in bounded pages keyed by id: each page is one
 * trip to read (under the tenant's RLS) and one to write and read back, so no step holds much
 * CPU or a large response (Neon's SQL-over-HTTP answers are capped). Rows are carried as the
 * source's own `to_jsonb` text and written with `jsonb_populate_recordset`, so nothing is
 * re-encoded on the way; what the target holds afterwards is compared with the source, byte for
 * byte. A rerun copies again from the start: rows already there are kept (`on conflict do
 * nothing`) and still compared.
 */
import { type SQL, sql } from "drizzle-orm";
import { type HttpDatabase, readAsTenant } from "../db/client";
import { WriteBatch } from "../db/write-batch";

export const COPY_PAGE_ROWS = 500;

export interface TableReport {
  rows: number;
  /** SHA-256 chained over the pages: sha256(previous hex, "\n", the page's rows joined by "\n"). */
  sha256: string;
}

export interface CopyReport {
  tables: Record<string, TableReport>;
  rows_total: number;
  copy_ms: number;
}

/** Rows differ between source and target: the copy must not switch. */
export class CopyMismatch extends Error {
  override name = "CopyMismatch";
}

const FIRST_ID = "00000000-0000-0000-0000-000000000000";
/** `to_jsonb` renders timestamps in the session's zone: both sides render them in UTC. */
const UTC = sql`select set_config('TimeZone', 'UTC', true)`;
/** The audit trigger emits no webhook events for copied rows (migration 0013). */
const COPYING = sql`select set_config('app.copying', 'on', true)`;

interface Doc {
  id: string;
  doc: string;
}

/** The tables a tenant's own rows live in, in copy order. */
export async function tenantTables(db: HttpDatabase): Promise<string[]> {
  const { rows } = await db.execute<{ tables: string[] }>(sql`select tenantry_tenant_tables() as tables`);
  return rows[0]?.tables ?? [];
}

export async function copyTenantRows(
  source: HttpDatabase,
  target: HttpDatabase,
  tenantId: string,
  opts: { pageRows?: number } = {},
): Promise<CopyReport> {
  const pageRows = opts.pageRows ?? COPY_PAGE_ROWS;
  const started = Date.now();
  const report: CopyReport = { tables: {}, rows_total: 0, copy_ms: 0 };
  for (const table of await tenantTables(source)) {
    let rows = 0;
    let sourceHash = "";
    let targetHash = "";
    let cursor = FIRST_ID;
    for (;;) {
      const page = await readPage(source, tenantId, table, cursor, pageRows, sql`r.*`);
      if (page.length === 0) break;
      const copied = await writePage(target, tenantId, table, page);
      assertSame(table, page, copied);
      sourceHash = await chain(sourceHash, page);
      targetHash = await chain(targetHash, copied);
      rows += page.length;
      cursor = (page[page.length - 1] as Doc).id;
      if (page.length < pageRows) break;
    }
    if (sourceHash !== targetHash) throw new CopyMismatch(`${table}: the target's rows hash differently`);
    report.tables[table] = { rows, sha256: sourceHash || (await sha256Hex("")) };
    report.rows_total += rows;
  }
  report.copy_ms = Date.now() - started;
  return report;
}

/**
 * Calls `each` with the ids of the tenant's rows of `table` in `db`, a page at a time, in id
 * order (what a cleanup after a copy deletes elsewhere).
 */
export async function forEachIdPage(
  db: HttpDatabase,
  tenantId: string,
  table: string,
  pageRows: number,
  each: (ids: string[]) => Promise<void>,
): Promise<void> {
  let cursor = FIRST_ID;
  for (;;) {
    const page = await readPage(db, tenantId, table, cursor, pageRows, null);
    if (page.length === 0) return;
    await each(page.map((row) => row.id));
    cursor = (page[page.length - 1] as Doc).id;
    if (page.length < pageRows) return;
  }
}

/** One page of the tenant's rows after `cursor`: ids, and with `doc` the rows as jsonb text. */
async function readPage(
  db: HttpDatabase,
  tenantId: string,
  table: string,
  cursor: string,
  limit: number,
  doc: SQL | null,
): Promise<Doc[]> {
  const t = sql.identifier(table);
  const docColumn = doc ? sql`to_jsonb(${doc})::text` : sql`''`;
  const [, result] = await readAsTenant(db, tenantId, (q) => [
    q.execute(UTC),
    q.execute<Doc & Record<string, unknown>>(
      sql`select r.id::text as id, ${docColumn} as doc from ${t} r
          where r.tenant_id = ${tenantId} and r.id > ${cursor}::uuid order by r.id limit ${limit}`,
    ),
  ]);
  return result.rows;
}

/** Writes a page into the target (one transaction, the tenant's RLS, copying on) and reads it back. */
async function writePage(target: HttpDatabase, tenantId: string, table: string, page: Doc[]): Promise<Doc[]> {
  const t = sql.identifier(table);
  // The rows are already JSON text: the array is assembled, not re-encoded.
  const docs = `[${page.map((row) => row.doc).join(",")}]`;
  const ids = `{${page.map((row) => row.id).join(",")}}`;
  const batch = new WriteBatch(target, { tenantId });
  batch.do(UTC);
  batch.do(COPYING);
  batch.do(
    sql`insert into ${t} select * from jsonb_populate_recordset(null::${t}, ${docs}::jsonb) on conflict (id) do nothing`,
  );
  const back = batch.add(
    target.execute<Doc & Record<string, unknown>>(
      sql`select r.id::text as id, to_jsonb(r.*)::text as doc from ${t} r
          where r.tenant_id = ${tenantId} and r.id = any(${ids}::uuid[]) order by r.id`,
    ),
  );
  await batch.run();
  return back.value.rows;
}

function assertSame(table: string, source: Doc[], target: Doc[]): void {
  if (source.length !== target.length) {
    throw new CopyMismatch(`${table}: ${source.length} rows read, ${target.length} found in the target`);
  }
  source.forEach((row, i) => {
    const copy = target[i] as Doc;
    if (copy.id !== row.id || copy.doc !== row.doc) {
      throw new CopyMismatch(`${table}: row ${row.id} differs in the target`);
    }
  });
}

async function chain(previous: string, page: Doc[]): Promise<string> {
  return sha256Hex(`${previous}\n${page.map((row) => row.doc).join("\n")}`);
}

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}
