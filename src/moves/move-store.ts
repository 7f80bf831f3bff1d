/**
 * The control database's side of a move: the move row, its tenant and the databases it names
 * (read in one trip), and each step's write as one batch, so every step commits whole or not
 * at all and a rerun finds the state the last committed step left.
 */
import { and, eq, inArray, isNull, sql } from "drizzle-orm";
import { type HttpDatabase, readAsSystem } from "../db/client";
import { type IsolationTier, tenantDatabases, tenantMoves, tenants, webhookEndpoints } from "../db/schema";
import { WriteBatch } from "../db/write-batch";
import { auditInsert } from "../services/tenancy/audit";
import type { MoveRow } from "../services/tenancy/placement";
import type { CopyReport } from "./copy";
import type { ProvisionedDatabase } from "./provisioning";

export type DatabaseRow = typeof tenantDatabases.$inferSelect;

/** What the mirror row of a dedicated database copies of the tenant. */
export interface MoveTenant {
  id: string;
  slug: string;
  name: string;
  plan: (typeof tenants.$inferSelect)["plan"];
  status: (typeof tenants.$inferSelect)["status"];
  isolation: IsolationTier;
  region: string;
  databaseId: string | null;
  moveId: string | null;
}

export interface MoveState {
  move: MoveRow;
  tenant: MoveTenant;
  /** The move's source and target databases that have rows (`from_database_id`, `to_database_id`). */
  source: DatabaseRow | null;
  target: DatabaseRow | null;
}

/** The move and what it names, in one trip; undefined when the move (or its tenant) is gone. */
export async function loadMove(control: HttpDatabase, moveId: string): Promise<MoveState | undefined> {
  const [moves, tenantRows, databaseRows] = await readAsSystem(control, (db) => [
    db.select().from(tenantMoves).where(eq(tenantMoves.id, moveId)),
    db
      .select({
        id: tenants.id,
        slug: tenants.slug,
        name: tenants.name,
        plan: tenants.plan,
        status: tenants.status,
        isolation: tenants.isolation,
        region: tenants.region,
        databaseId: tenants.databaseId,
        moveId: tenants.moveId,
      })
      .from(tenants)
      .where(sql`${tenants.id} = (select tenant_id from tenant_moves where id = ${moveId})`),
    db
      .select()
      .from(tenantDatabases)
      .where(
        sql`${tenantDatabases.id} in (select unnest(array[from_database_id, to_database_id]) from tenant_moves where id = ${moveId})`,
      ),
  ]);
  const move = moves[0];
  const tenant = tenantRows[0];
  if (!move || !tenant) return undefined;
  const byId = (id: string | null) => databaseRows.find((row) => row.id === id) ?? null;
  return { move, tenant, source: byId(move.fromDatabaseId), target: byId(move.toDatabaseId) };
}

/** Whether the tenant has a database that is not dropped yet (a provider answers it again to a create). */
export async function hasUndroppedDatabase(control: HttpDatabase, tenantId: string): Promise<boolean> {
  const [rows] = await readAsSystem(control, (db) => [
    db
      .select({ id: tenantDatabases.id })
      .from(tenantDatabases)
      .where(
        and(eq(tenantDatabases.tenantId, tenantId), inArray(tenantDatabases.status, ["ready", "retired"])),
      )
      .limit(1),
  ]);
  return rows.length > 0;
}

/** Records the database made for the move: its row (sealed connection) and the move's `to_database_id`, together. */
export async function recordTargetDatabase(
  control: HttpDatabase,
  move: MoveRow,
  database: { id: string; sealed: string; provisioned: ProvisionedDatabase },
  now: Date,
): Promise<void> {
  const batch = new WriteBatch(control, { system: true });
  batch.do(
    batch.db.insert(tenantDatabases).values({
      id: database.id,
      tenantId: move.tenantId,
      provider: database.provisioned.provider,
      ref: database.provisioned.ref,
      region: database.provisioned.region,
      connectionSealed: database.sealed,
      status: "ready",
      createdAt: now,
    }),
  );
  batch.do(
    batch.db
      .update(tenantMoves)
      .set({ toDatabaseId: database.id, updatedAt: now })
      .where(and(eq(tenantMoves.id, move.id), isNull(tenantMoves.toDatabaseId))),
  );
  await batch.run();
}

export async function markCopying(control: HttpDatabase, moveId: string, now: Date): Promise<void> {
  await runSystem(control, (batch) =>
    batch.do(
      batch.db
        .update(tenantMoves)
        .set({ status: "copying", updatedAt: now })
        .where(
          and(eq(tenantMoves.id, moveId), inArray(tenantMoves.status, ["pending", "failed", "copying"])),
        ),
    ),
  );
}

/**
 * The switch, one transaction: the tenant points at its new home and is writable again (only
 * if this move is still its move), an old dedicated database is retired, the move is
 * `switched` with the copy's report.
 */
export async function switchTenant(
  control: HttpDatabase,
  state: MoveState,
  home: { region: string; databaseId: string | null },
  report: CopyReport,
  now: Date,
): Promise<void> {
  const { move } = state;
  const batch = new WriteBatch(control, { system: true });
  batch.do(sql`select 1 from ${tenants} where ${tenants.id} = ${move.tenantId} for update`);
  batch.failWhen(
    sql`not exists (select 1 from ${tenants} where ${tenants.id} = ${move.tenantId} and ${tenants.moveId} = ${move.id})`,
    { code: "conflict", detail: "The tenant is no longer moving with this move." },
  );
  batch.do(
    batch.db
      .update(tenants)
      .set({
        isolation: move.toIsolation,
        region: home.region,
        databaseId: home.databaseId,
        moveId: null,
        // Into a dedicated database from the control one, whose endpoints are still here until
        // the clean-up: the flag a dedicated tenant's record reads (tenant-directory.ts).
        hasWebhooks:
          move.fromIsolation === "shared"
            ? sql`exists (select 1 from ${webhookEndpoints} e where e.tenant_id = ${move.tenantId} and e.enabled)`
            : sql`${tenants.hasWebhooks}`,
        updatedAt: now,
      })
      .where(and(eq(tenants.id, move.tenantId), eq(tenants.moveId, move.id))),
  );
  if (move.fromDatabaseId) {
    batch.do(
      batch.db
        .update(tenantDatabases)
        .set({ status: "retired", retiredAt: now })
        .where(and(eq(tenantDatabases.id, move.fromDatabaseId), eq(tenantDatabases.status, "ready"))),
    );
  }
  batch.do(
    batch.db
      .update(tenantMoves)
      .set({ status: "switched", switchedAt: now, report: { ...report }, updatedAt: now })
      .where(eq(tenantMoves.id, move.id)),
  );
  await batch.run();
}

/** A database given back to its provider: `dropped` (and retired, if it never was). */
export async function markDropped(control: HttpDatabase, databaseId: string, now: Date): Promise<void> {
  await runSystem(control, (batch) =>
    batch.do(
      batch.db
        .update(tenantDatabases)
        .set({
          status: "dropped",
          retiredAt: sql`coalesce(${tenantDatabases.retiredAt}, ${now.toISOString()}::timestamptz)`,
          droppedAt: now,
        })
        .where(eq(tenantDatabases.id, databaseId)),
    ),
  );
}

/** The move is done: `succeeded`, and the tenant's audit trail says so (system actor). */
export async function completeMove(control: HttpDatabase, state: MoveState, now: Date): Promise<void> {
  const { move } = state;
  await runSystem(control, (batch) => {
    batch.failWhen(
      sql`not exists (select 1 from ${tenantMoves} where ${tenantMoves.id} = ${move.id} and ${tenantMoves.status} = 'switched')`,
      { code: "conflict", detail: "The move is not switched." },
    );
    batch.do(
      batch.db
        .update(tenantMoves)
        .set({ status: "succeeded", completedAt: now, updatedAt: now })
        .where(eq(tenantMoves.id, move.id)),
    );
    batch.do(
      auditInsert(
        batch.db,
        { principal: undefined, requestId: null, ip: null },
        {
          tenantId: move.tenantId,
          action: "tenant.moved",
          targetType: "tenant",
          targetId: move.tenantId,
          meta: {
            move_id: move.id,
            from: { isolation: move.fromIsolation },
            to: { isolation: move.toIsolation, region: move.toRegion },
            rows_total: (move.report as { rows_total?: number } | null)?.rows_total ?? null,
          },
        },
      ),
    );
  });
}

/** A failed attempt: counted, with its error; `failed` unless the tenant already switched. */
export async function recordFailure(
  control: HttpDatabase,
  move: MoveRow,
  error: string,
  now: Date,
): Promise<number> {
  const batch = new WriteBatch(control, { system: true });
  const updated = batch.add(
    batch.db
      .update(tenantMoves)
      .set({
        attempts: sql`${tenantMoves.attempts} + 1`,
        lastError: error,
        status: sql`case when ${tenantMoves.status} = 'switched' then 'switched' else 'failed' end`,
        updatedAt: now,
      })
      .where(
        and(
          eq(tenantMoves.id, move.id),
          inArray(tenantMoves.status, ["pending", "copying", "switched", "failed"]),
        ),
      )
      .returning({ attempts: tenantMoves.attempts }),
  );
  await batch.run();
  return updated.value[0]?.attempts ?? move.attempts + 1;
}

/**
 * Gives up on a move that never switched: `dead`, and the tenant writable again where it was.
 * A database made for it was dropped first (`markDropped`).
 */
export async function markDead(
  control: HttpDatabase,
  move: MoveRow,
  error: string,
  now: Date,
): Promise<void> {
  await runSystem(control, (batch) => {
    batch.do(
      batch.db
        .update(tenants)
        .set({ moveId: null, updatedAt: now })
        .where(and(eq(tenants.id, move.tenantId), eq(tenants.moveId, move.id))),
    );
    batch.do(
      batch.db
        .update(tenantMoves)
        .set({ status: "dead", lastError: error, completedAt: now, updatedAt: now })
        .where(
          and(eq(tenantMoves.id, move.id), inArray(tenantMoves.status, ["pending", "copying", "failed"])),
        ),
    );
  });
}

async function runSystem(control: HttpDatabase, build: (batch: WriteBatch) => void): Promise<void> {
  const batch = new WriteBatch(control, { system: true });
  build(batch);
  await batch.run();
}
