/**
 * Runs a tenant move (services/tenancy/placement.ts requested it) as far as it can go now, and
 * says when to come back: the queue consumer calls it per `{moveId}` message, and the
 * reconciler resends moves nobody is running. Every step commits on its own and is safe to run
 * again, so a crash or a redelivered message resumes where the last committed step left off:
 *
 * 1. wait until `copy_after` (every isolate has seen the tenant read-only by then);
 * 2. moving to dedicated: get the database from the provisioner (a retried create answers the
 *    same one) and record it, sealed, with the move's `to_database_id`;
 * 3. hold the mirror rows: the target's says this move, a dedicated source's too, so the write
 *    guard of either database refuses writes;
 * 4. copy every tenant table in bounded pages and compare the target with the source (copy.ts);
 * 5. switch the control database's pointer in one transaction (the tenant is writable again);
 * 6. once stale isolates can no longer read the old home (MOVE_SETTLE_MS after the switch),
 *    clear the copied rows out of the control database or drop the old dedicated database,
 *    and record `succeeded` with a `tenant.moved` audit record.
 *
 * A failed step counts an attempt and is retried with backoff; after MOVE_MAX_ATTEMPTS a move
 * that never switched is `dead`: whatever it made is removed and the tenant is writable where
 * it was. After the switch there is no way back, only retries of the cleanup.
 */
import { sql } from "drizzle-orm";
import { sealConnection } from "../databases/sealed-connection";
import type { Database, DatabaseHandle, HttpDatabase } from "../db/client";
import type { Config } from "../env";
import type { Disposition } from "../jobs/delivery";
import { retryDelaySeconds } from "../jobs/policy";
import { clock } from "../lib/clock";
import { log } from "../lib/log";
import { MOVE_SETTLE_MS } from "../services/tenancy/placement";
import { copyTenantRows, tenantTables } from "./copy";
import { clearCopiedRows, openHome, setMirrorMove, upsertMirror } from "./homes";
import {
  completeMove,
  hasUndroppedDatabase,
  loadMove,
  type MoveState,
  markCopying,
  markDead,
  markDropped,
  recordFailure,
  recordTargetDatabase,
  switchTenant,
} from "./move-store";
import type { DatabaseProvisioning } from "./provisioning";

/** Failed attempts before a move that never switched is given up. */
export const MOVE_MAX_ATTEMPTS = 8;
/** Another runner holds the move, or an earlier move's database is still being dropped. */
const WAIT_SECONDS = 30;

export interface RunOptions {
  /** The wait after the switch before the old home is cleared; MOVE_SETTLE_MS unless a test says otherwise. */
  settleMs?: number;
  now?: () => number;
}

interface Run {
  config: Config;
  control: HttpDatabase;
  provisioning: DatabaseProvisioning;
  settleMs: number;
  now: () => Date;
}

/** A failure that retrying cannot fix: the move is given up at once. */
class MoveRefused extends Error {
  override name = "MoveRefused";
}

export async function runMove(
  config: Config,
  control: DatabaseHandle,
  moveId: string,
  provisioning: DatabaseProvisioning,
  opts: RunOptions = {},
): Promise<Disposition> {
  const now = opts.now ?? (() => clock.now());
  const run: Run = {
    config,
    control: control.http,
    provisioning,
    settleMs: opts.settleMs ?? MOVE_SETTLE_MS,
    now: () => new Date(now()),
  };
  const outcome = await withMoveLock(control.db, moveId, () => advance(run, moveId));
  return outcome ?? retryIn("busy", WAIT_SECONDS * 1000);
}

async function advance(run: Run, moveId: string): Promise<Disposition> {
  const state = await loadMove(run.control, moveId);
  if (!state) return { settle: "ack", outcome: "missing" };
  const { move } = state;
  if (move.status === "succeeded" || move.status === "dead") return { settle: "ack", outcome: move.status };
  try {
    if (move.status === "switched") return await settle(run, state);
    if (move.attempts >= MOVE_MAX_ATTEMPTS)
      return await giveUp(run, state, move.lastError ?? "out of attempts");
    const wait = move.copyAfter.getTime() - run.now().getTime();
    if (wait > 0) return retryIn("waiting", wait);
    return await copyAndSwitch(run, state);
  } catch (err) {
    return failed(run, state, err);
  }
}

async function copyAndSwitch(run: Run, initial: MoveState): Promise<Disposition> {
  const { move, tenant } = initial;
  if (move.fromIsolation === move.toIsolation) {
    throw new MoveRefused(`a move changes the isolation tier; this one stays ${move.toIsolation}`);
  }
  if (tenant.moveId !== move.id || tenant.databaseId !== move.fromDatabaseId) {
    throw new MoveRefused("the tenant is no longer where this move found it");
  }
  let state = initial;
  if (move.toIsolation === "dedicated" && !move.toDatabaseId) {
    // The provisioner answers a tenant's existing database to a create: wait until an earlier
    // move has dropped the one it left behind.
    if (await hasUndroppedDatabase(run.control, tenant.id))
      return retryIn("waiting_for_drop", WAIT_SECONDS * 1000);
    const provisioned = await run.provisioning.create(tenant.id, move.toRegion);
    // The id comes first: the sealed connection string is bound to it.
    const id = crypto.randomUUID();
    const sealed = await sealConnection(
      run.config.MASTER_KEY,
      { tenantId: tenant.id, databaseId: id },
      provisioned.connectionString,
    );
    await recordTargetDatabase(run.control, move, { id, sealed, provisioned }, run.now());
    state = (await loadMove(run.control, move.id)) ?? state;
  }
  const { source: sourceRow, target: targetRow } = state;
  if ((move.fromDatabaseId && !sourceRow) || (move.toIsolation === "dedicated" && !targetRow)) {
    throw new MoveRefused("a database the move names has no row");
  }
  const source = await openHome(run.config, run.control, tenant.id, sourceRow);
  const target = await openHome(run.config, run.control, tenant.id, targetRow);
  if (targetRow)
    await upsertMirror(target, tenant, { databaseId: targetRow.id, region: targetRow.region }, move.id);
  if (sourceRow) await setMirrorMove(source, tenant.id, move.id);

  await markCopying(run.control, move.id, run.now());
  const report = await copyTenantRows(source, target, tenant.id);
  // The new home must take writes the moment the control database points at it; the old
  // home's mirror keeps this move, so stale isolates stay refused there.
  if (targetRow) await setMirrorMove(target, tenant.id, null);
  await switchTenant(
    run.control,
    state,
    { region: targetRow?.region ?? run.config.CONTROL_REGION, databaseId: targetRow?.id ?? null },
    report,
    run.now(),
  );
  log("info", "tenant move switched", {
    move_id: move.id,
    tenant_id: tenant.id,
    to: move.toIsolation,
    rows_total: report.rows_total,
    copy_ms: report.copy_ms,
  });
  const switched = await loadMove(run.control, move.id);
  return switched ? settle(run, switched) : { settle: "ack", outcome: "missing" };
}

/** After the switch: clear the old home once no isolate reads it any more, then succeed. */
async function settle(run: Run, state: MoveState): Promise<Disposition> {
  const { move, tenant } = state;
  const switchedAt = move.switchedAt ?? move.updatedAt;
  const wait = switchedAt.getTime() + run.settleMs - run.now().getTime();
  if (wait > 0) return retryIn("settling", wait);
  if (!move.fromDatabaseId) {
    // The rows now in the dedicated database are exactly those to remove from the control one
    // (plus rows written there since the switch, whose ids the control database never had).
    const target = await openHome(run.config, run.control, tenant.id, state.target);
    await clearCopiedRows(run.control, target, tenant.id, await tenantTables(run.control));
  } else if (state.source && state.source.status !== "dropped") {
    await run.provisioning.drop(tenant.id, state.source.ref);
    await markDropped(run.control, state.source.id, run.now());
  }
  await completeMove(run.control, state, run.now());
  log("info", "tenant move succeeded", { move_id: move.id, tenant_id: tenant.id });
  return { settle: "ack", outcome: "succeeded" };
}

/** A failed attempt: counted and retried with backoff, or the move given up when that is all that is left. */
async function failed(run: Run, state: MoveState, err: unknown): Promise<Disposition> {
  const error = redact(err instanceof Error ? err.message : String(err));
  const attempts = await recordFailure(run.control, state.move, error, run.now());
  log("warn", "tenant move attempt failed", { move_id: state.move.id, attempts, error });
  const given =
    state.move.status !== "switched" && (err instanceof MoveRefused || attempts >= MOVE_MAX_ATTEMPTS);
  if (!given) return retryIn("failed", retryDelaySeconds(attempts) * 1000);
  try {
    return await giveUp(run, state, error);
  } catch (cleanupErr) {
    // The move stays `failed` with its attempts used up: the next run tries to give up again.
    log("error", "giving up a tenant move failed", {
      move_id: state.move.id,
      error: redact(cleanupErr instanceof Error ? cleanupErr.message : String(cleanupErr)),
    });
    return retryIn("failed", retryDelaySeconds(attempts) * 1000);
  }
}

/**
 * A move that never switched ends `dead`, the tenant where it was: a database made for it is
 * dropped, rows it copied into the control database are cleared, a dedicated source's mirror
 * is released, and last the tenant's `move_id` (it is writable again).
 */
async function giveUp(run: Run, state: MoveState, error: string): Promise<Disposition> {
  const { move, tenant, source: sourceRow, target: targetRow } = state;
  const heldByThisMove = tenant.moveId === move.id;
  if (targetRow && targetRow.status !== "dropped" && tenant.databaseId !== targetRow.id) {
    await run.provisioning.drop(tenant.id, targetRow.ref);
    await markDropped(run.control, targetRow.id, run.now());
  }
  if (sourceRow && heldByThisMove) {
    const source = await openHome(run.config, run.control, tenant.id, sourceRow);
    if (move.toIsolation === "shared") {
      await clearCopiedRows(run.control, source, tenant.id, await tenantTables(run.control));
    }
    await setMirrorMove(source, tenant.id, null, move.id);
  }
  await markDead(run.control, move, error, run.now());
  log("warn", "tenant move dead", { move_id: move.id, tenant_id: tenant.id, error });
  return { settle: "dead", outcome: "dead" };
}

/**
 * Runs `fn` only while holding the move's advisory lock (in a transaction of its own), so two
 * deliveries of one move never run at once; undefined when another runner holds it.
 */
async function withMoveLock<T>(db: Database, moveId: string, fn: () => Promise<T>): Promise<T | undefined> {
  return db.transaction(async (tx) => {
    const { rows } = await tx.execute<{ locked: boolean }>(
      sql`select pg_try_advisory_xact_lock(hashtextextended(${`tenantry.move:${moveId}`}, 0)) as locked`,
    );
    if (!rows[0]?.locked) return undefined;
    return await fn();
  });
}

/** Waits the runner plans (not yet due, settling, another runner busy) are not failures. */
const PLANNED = new Set(["waiting", "settling", "busy", "waiting_for_drop"]);

function retryIn(outcome: string, ms: number): Disposition {
  return {
    settle: "retry",
    outcome,
    delaySeconds: Math.max(1, Math.ceil(ms / 1000)),
    ...(PLANNED.has(outcome) ? { planned: true } : {}),
  };
}

/** Errors are stored and logged: never with a connection string's credentials in them. */
function redact(message: string): string {
  return message.replace(/\b[a-z][a-z0-9+.-]*:\/\/[^\s/@]*@[^\s"']*/gi, "<connection string>").slice(0, 1000);
}
