/**
 * Work off the request path that every database of tenant rows needs (the webhook reconciler
 * and retention purge): the control database, then each dedicated database that is `ready`.
 * One database failing does not stop the others; it is logged by id, never by its connection
 * string, and counted in the summary.
 */
import { eq } from "drizzle-orm";
import { type HttpDatabase, readAsSystem } from "../db/client";
import { tenantDatabases } from "../db/schema";
import type { Config } from "../env";
import { log } from "../lib/log";
import { tenantDatabase } from "./routing";

export interface VisitSummary<T> {
  /** What `work` answered, per database it finished on (the control database first). */
  results: T[];
  /** Dedicated databases visited, and how many of them failed. */
  dedicated: number;
  failed: number;
}

/**
 * Runs `work` on the control database, then on each ready dedicated database in turn (opened
 * as requests open them, `routing.ts`, so an isolate opens each once). A failure on the control
 * database is thrown, after the dedicated ones had their turn.
 */
export async function forEachTenantDatabase<T>(
  config: Config,
  control: HttpDatabase,
  what: string,
  work: (db: HttpDatabase) => Promise<T>,
): Promise<VisitSummary<T>> {
  const results: T[] = [];
  let controlError: unknown;
  try {
    results.push(await work(control));
  } catch (err) {
    controlError = err;
  }
  const [databases] = await readAsSystem(control, (db) => [
    db
      .select({
        id: tenantDatabases.id,
        tenantId: tenantDatabases.tenantId,
        sealed: tenantDatabases.connectionSealed,
      })
      .from(tenantDatabases)
      .where(eq(tenantDatabases.status, "ready"))
      .orderBy(tenantDatabases.createdAt),
  ]);
  let failed = 0;
  for (const database of databases) {
    try {
      const db = await tenantDatabase(config, control, {
        id: database.tenantId,
        databaseId: database.id,
        databaseSealed: database.sealed,
      });
      results.push(await work(db));
    } catch (err) {
      failed += 1;
      log("error", `${what} failed in a dedicated database`, {
        database_id: database.id,
        tenant_id: database.tenantId,
        error: withoutUrls(err instanceof Error ? err.message : String(err)),
      });
    }
  }
  if (controlError !== undefined) throw controlError;
  return { results, dedicated: databases.length, failed };
}

/** A driver's message may quote the URL it connected to, password and all. */
function withoutUrls(message: string): string {
  return message.replace(/postgres(?:ql)?:\/\/\S+/gi, "postgres://…");
}
