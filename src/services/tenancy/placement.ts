/**
 * Where a tenant's own rows live (docs/architecture.md, "Isolation tiers"): `shared` tables
 * of the control database, or a `dedicated` database of its own in a chosen region. A move
 * between them is requested here, in the batch of the change that asks for it: the move row
 * and the tenant's `move_id` commit together, so from then on every write is refused with 409
 * `tenant_moving` (by the pipeline, and by the write guard in whichever database it reaches)
 * until the move's runner (src/moves/) has switched the tenant or given up.
 */
import { eq, sql } from "drizzle-orm";
import { type IsolationTier, type Plan, tenantMoves, tenants } from "../../db/schema";
import type { WriteBatch } from "../../db/write-batch";
import type { Config } from "../../env";
import { Problem } from "../../lib/problem";
import { AUTH_CACHE_TTL_MS } from "../../lib/ttl-cache";

export type MoveRow = typeof tenantMoves.$inferSelect;

/** A dedicated database is an enterprise feature. */
export const DEDICATED_PLANS: ReadonlySet<Plan> = new Set<Plan>(["enterprise"]);

/**
 * How long a move waits before copying: past the tenant cache's TTL, so that every isolate
 * has seen the tenant read-only (the write guard refuses stragglers in any case).
 */
export const MOVE_SETTLE_MS = AUTH_CACHE_TTL_MS + 5_000;

export interface Placement {
  isolation: IsolationTier;
  region: string;
}

/** The placement asked for, checked against the plan and REGIONS (`checkRegion`). */
export function checkPlacement(
  config: Config,
  plan: Plan,
  wanted: { isolation: IsolationTier; region?: string | undefined },
): Placement {
  if (wanted.isolation === "dedicated" && !DEDICATED_PLANS.has(plan)) {
    throw invalidField(
      "isolation",
      "dedicated needs the enterprise plan",
      "A dedicated database needs the enterprise plan.",
    );
  }
  return { isolation: wanted.isolation, region: checkRegion(config, wanted.isolation, wanted.region) };
}

/**
 * The region a tenant of `isolation` may have: one of REGIONS, and for a shared tenant the
 * control database's (the default when none is asked for).
 */
export function checkRegion(config: Config, isolation: IsolationTier, wanted: string | undefined): string {
  const region = wanted ?? config.CONTROL_REGION;
  if (!config.REGIONS.includes(region)) {
    throw invalidField(
      "region",
      `one of ${config.REGIONS.join(", ")}`,
      `Unknown region "${region}"; this deployment has ${config.REGIONS.join(", ")}.`,
    );
  }
  if (isolation === "shared" && region !== config.CONTROL_REGION) {
    throw invalidField(
      "region",
      `shared tenants are in ${config.CONTROL_REGION}`,
      `A shared tenant lives in the control database's region (${config.CONTROL_REGION}); choose dedicated for ${region}.`,
    );
  }
  return region;
}

function invalidField(path: string, message: string, detail: string): Problem {
  return new Problem("validation_failed", detail, {
    extensions: { errors: [{ path, message, code: "invalid_value" }] },
  });
}

/** A new move's row, pending until `now + settleMs`. */
export function newMove(
  id: string,
  tenant: { id: string; isolation: IsolationTier; databaseId: string | null },
  target: Placement,
  opts: { now: Date; settleMs: number },
): MoveRow {
  return {
    id,
    tenantId: tenant.id,
    fromIsolation: tenant.isolation,
    fromDatabaseId: tenant.databaseId,
    toIsolation: target.isolation,
    toRegion: target.region,
    toDatabaseId: null,
    status: "pending",
    attempts: 0,
    lastError: null,
    report: null,
    copyAfter: new Date(opts.now.getTime() + opts.settleMs),
    switchedAt: null,
    completedAt: null,
    createdAt: opts.now,
    updatedAt: opts.now,
  };
}

/**
 * Adds the move to `batch` (system scope, the tenant row already written or locked): the move
 * row, and the tenant's `move_id`, guarded so a tenant has one move at a time. The caller sends
 * `{moveId}` to the provisioning queue after commit.
 */
export function requestMove(
  batch: WriteBatch,
  tenant: { id: string; isolation: IsolationTier; databaseId: string | null },
  target: Placement,
  opts: { now: Date; settleMs: number },
): MoveRow {
  const move = newMove(crypto.randomUUID(), tenant, target, opts);
  batch.failWhen(
    sql`exists (select 1 from ${tenants} where ${tenants.id} = ${tenant.id} and ${tenants.moveId} is not null)`,
    {
      code: "tenant_moving",
      detail: "This tenant is already moving; wait for that move to finish.",
    },
  );
  batch.do(batch.db.insert(tenantMoves).values(move));
  batch.do(batch.db.update(tenants).set({ moveId: move.id }).where(eq(tenants.id, tenant.id)));
  return move;
}

export function presentMove(move: MoveRow) {
  return {
    id: move.id,
    tenant_id: move.tenantId,
    from: { isolation: move.fromIsolation },
    to: { isolation: move.toIsolation, region: move.toRegion },
    status: move.status,
    attempts: move.attempts,
    last_error: move.lastError,
    report: move.report,
    copy_after: move.copyAfter.toISOString(),
    switched_at: move.switchedAt?.toISOString() ?? null,
    completed_at: move.completedAt?.toISOString() ?? null,
    created_at: move.createdAt.toISOString(),
  };
}
