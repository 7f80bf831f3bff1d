/**
 * The databases on either side of a move: opening one (the control database, or a dedicated
 * one from its sealed connection string), the tenant's mirror row in a dedicated database
 * (the FK target of its rows, and where that database's write guard reads `move_id`), and
 * clearing rows a copy left behind in the control database.
 */
import { eq, sql } from "drizzle-orm";
import { tenantDatabase } from "../databases/routing";
import type { HttpDatabase } from "../db/client";
import { tenants } from "../db/schema";
import { WriteBatch } from "../db/write-batch";
import type { Config } from "../env";
import { forEachIdPage } from "./copy";
import type { DatabaseRow, MoveTenant } from "./move-store";

/** Ids per `tenantry_clear_moved_rows` call. */
const CLEAR_PAGE_ROWS = 1000;

/** The control database for `null`, else the dedicated database of the row. */
export function openHome(
  config: Config,
  control: HttpDatabase,
  tenantId: string,
  database: DatabaseRow | null,
): Promise<HttpDatabase> {
  if (!database) return Promise.resolve(control);
  return tenantDatabase(config, control, {
    id: tenantId,
    databaseId: database.id,
    databaseSealed: database.connectionSealed,
  });
}

/** Writes (or refreshes) the tenant's row in its dedicated database, naming `moveId` (null: writable). */
export async function upsertMirror(
  db: HttpDatabase,
  tenant: MoveTenant,
  home: { databaseId: string; region: string },
  moveId: string | null,
): Promise<void> {
  const batch = new WriteBatch(db, { system: true });
  batch.do(
    batch.db
      .insert(tenants)
      .values({
        id: tenant.id,
        slug: tenant.slug,
        name: tenant.name,
        plan: tenant.plan,
        status: tenant.status,
        isolation: "dedicated",
        region: home.region,
        databaseId: home.databaseId,
        moveId,
      })
      .onConflictDoUpdate({
        target: tenants.id,
        set: { isolation: "dedicated", region: home.region, databaseId: home.databaseId, moveId },
      }),
  );
  await batch.run();
}

/** Sets the mirror's `move_id` in a dedicated database; with `onlyIf`, only while it names that move. */
export async function setMirrorMove(
  db: HttpDatabase,
  tenantId: string,
  moveId: string | null,
  onlyIf?: string,
): Promise<void> {
  const batch = new WriteBatch(db, { system: true });
  batch.do(
    batch.db
      .update(tenants)
      .set({ moveId })
      .where(
        onlyIf
          ? sql`${tenants.id} = ${tenantId} and ${tenants.moveId} = ${onlyIf}`
          : eq(tenants.id, tenantId),
      ),
  );
  await batch.run();
}

/**
 * Deletes from the control database the tenant's rows whose ids `copies` holds, table by table:
 * the rows a copy put in or took out of it. Rows of the tenant that only the control database
 * has (audit and idempotency records of identity writes) are not among those ids and stay.
 * The control database allows it only while the tenant's home is a dedicated database.
 */
export async function clearCopiedRows(
  control: HttpDatabase,
  copies: HttpDatabase,
  tenantId: string,
  tables: string[],
): Promise<number> {
  let deleted = 0;
  // Children first, so no row is ever left pointing at a deleted parent.
  for (const table of [...tables].reverse()) {
    await forEachIdPage(copies, tenantId, table, CLEAR_PAGE_ROWS, async (ids) => {
      const batch = new WriteBatch(control, { system: true });
      const cleared = batch.add(
        control.execute<{ n: string }>(
          sql`select tenantry_clear_moved_rows(${tenantId}::uuid, ${table}, ${`{${ids.join(",")}}`}::uuid[]) as n`,
        ),
      );
      await batch.run();
      deleted += Number(cleared.value.rows[0]?.n ?? 0);
    });
  }
  return deleted;
}
