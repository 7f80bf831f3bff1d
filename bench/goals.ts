/**
 * Issue 18's goals, judged from one run: the idle pass (no simulated distance) and the far
 * pass (every Neon and Upstash round trip `rttMs` long); and issue 22's, a dedicated tenant
 * as fast as a shared one. Each goal names its worst scenario, so a miss says where to look;
 * a goal whose pass did not run is "not measured", never met.
 */
import type { Row } from "./measure";
import { median, round, signed } from "./stats";

/** Issue 22: a dedicated tenant's read and write p50 at most this multiple of a shared one's. */
const DEDICATED_OVER_SHARED = 1.1;

export interface Pass {
  rttMs: number;
  rows: Row[];
  /** Wall time of the pass, stack start to stop, and the 1-minute load average around it. */
  seconds: number;
  loadAverage: { start: number; end: number };
}

export interface ScaleResult {
  tenants_small: number;
  tenants_large: number;
  clusters_per_tenant: number;
  seed_seconds: number;
  small: { p50: number; p95: number; rps: number };
  large: { p50: number; p95: number; rps: number };
}

export interface Goal {
  goal: string;
  /** The measured value, and for a goal over several scenarios the worst one. */
  measured: string;
  /** null: the pass it needs did not run. */
  met: boolean | null;
}

interface Check {
  row: Row;
  value: number;
  limit: number;
}

/** A scenario measured for shared tenants and, right after, for dedicated ones. */
export interface TierPair {
  shared: Row;
  dedicated: Row;
  /** dedicated p50 ÷ shared p50. */
  ratio: number;
}

export function judgeGoals(idle: Pass, far: Pass | null, scale: ScaleResult): Goal[] {
  const of = (pass: Pass, ...kinds: Row["kind"][]) => pass.rows.filter((r) => kinds.includes(r.kind));
  const writes = of(idle, "write");
  const ratioToFloor = (r: Row) => r.p50 / Math.max(floorBefore(idle.rows, r).p50, 0.01);
  const goals: Goal[] = [
    worst(
      "write p50 ÷ floor p50 ≤ 1.5 at rtt 0 (every single-resource write; the floor measured before the writes)",
      writes.map((row) => ({ row, value: ratioToFloor(row), limit: 1.5 })),
    ),
    worst(
      "Postgres trips per write = 1, tenant create ≤ 2 (a request's own trips)",
      of(idle, "write", "tenant_create").map((row) => ({
        row,
        value: row.pgTripsOnRequest ?? Number.NaN,
        limit: row.kind === "tenant_create" ? 2 : 1,
      })),
      (c) => `${c.value} (${c.row.scenario})`,
    ),
    worst(
      "tenant read p50 ÷ floor p50 ≤ 1.15 at rtt 0 (every auth mode)",
      of(idle, "read").map((row) => ({ row, value: ratioToFloor(row), limit: 1.15 })),
    ),
    worst(
      "Postgres + Redis trips per warm tenant read ≤ 1 + 1 (a request's own trips)",
      of(idle, "read").map((row) => ({
        row,
        value: Math.max(row.pgTripsOnRequest ?? Number.NaN, row.redisOnRequest ?? Number.NaN),
        limit: 1,
      })),
      (c) => `${c.row.pgTripsOnRequest} + ${c.row.redisOnRequest} (${c.row.scenario})`,
    ),
    worst(
      "Postgres trips per cold tenant read ≤ 2 (a request's own trips, every in-isolate cache empty)",
      of(idle, "cold").map((row) => ({ row, value: row.pgTripsOnRequest ?? Number.NaN, limit: 2 })),
      (c) => `${c.value} (${c.row.scenario})`,
    ),
    distanceGoal(
      idle,
      far,
      "read",
      1.2,
      (r) => `tenant read p50 at rtt ${r} − at rtt 0 ≤ 1.2 × ${r} (one overlapped trip)`,
    ),
    distanceGoal(
      idle,
      far,
      "write",
      2.2,
      (r) => `write p50 at rtt ${r} − at rtt 0 ≤ 2.2 × ${r} (one Redis + one Postgres)`,
    ),
    distanceGoal(idle, far, "cold", 2.2, (r) => `cold read p50 at rtt ${r} − at rtt 0 ≤ 2.2 × ${r}`),
    // Judged at the far pass, where a trip costs what it does in production; printed at rtt 0 too.
    tierGoal(far, "read"),
    tierGoal(far, "write"),
    tierGoal(idle, "read"),
    tierGoal(idle, "write"),
    {
      goal: `${scale.tenants_large}-tenant ÷ ${scale.tenants_small}-tenant read p50 ≤ 1.1`,
      measured: `${round(scale.large.p50 / Math.max(scale.small.p50, 0.01))} (${scale.large.p50} ÷ ${scale.small.p50} ms)`,
      met: scale.large.p50 / Math.max(scale.small.p50, 0.01) <= 1.1,
    },
  ];
  return goals;
}

/** Each dedicated scenario of the pass with the shared one it repeats. */
export function tierPairs(pass: Pass): TierPair[] {
  return pass.rows.flatMap((dedicated) => {
    const shared = pass.rows.find((r) => r.scenario === dedicated.twin);
    return shared ? [{ shared, dedicated, ratio: dedicated.p50 / Math.max(shared.p50, 0.01) }] : [];
  });
}

/**
 * Dedicated ÷ shared p50 over every pair of a kind (reads: warm and cold), the worst named
 * with its two p50s; the median ratio too, since the worst of many pairs leans on noise.
 */
function tierGoal(pass: Pass | null, kind: "read" | "write"): Goal {
  const goal = `dedicated ÷ shared tenant ${kind} p50 ≤ ${DEDICATED_OVER_SHARED}${pass ? ` at rtt ${pass.rttMs} ms` : ""} (${kind === "read" ? "every auth mode, warm and cold" : "every write of the tenant's own rows"})`;
  if (!pass) return { goal, measured: "not measured (no far pass: --rtt 0)", met: null };
  const kinds: Row["kind"][] = kind === "read" ? ["read", "cold"] : ["write"];
  const pairs = tierPairs(pass).filter((p) => kinds.includes(p.dedicated.kind));
  const judged = worst(
    goal,
    pairs.map((p) => ({ row: p.dedicated, value: p.ratio, limit: DEDICATED_OVER_SHARED })),
    (c) => {
      const pair = pairs.find((p) => p.dedicated === c.row) as TierPair;
      return `${round(c.value)} (${pair.shared.scenario}: ${pair.dedicated.p50} ÷ ${pair.shared.p50} ms)`;
    },
  );
  if (pairs.length === 0) return judged;
  return { ...judged, measured: `${judged.measured}; median ${round(median(pairs.map((p) => p.ratio)))}` };
}

/** The floor measured last before `row` (a pass measures it again before its writes). */
function floorBefore(rows: Row[], row: Row): Row {
  const floor = rows
    .slice(0, rows.indexOf(row))
    .filter((r) => r.kind === "floor")
    .at(-1);
  if (!floor) throw new Error(`no floor measured before ${row.scenario}`);
  return floor;
}

/** p50 growth from the idle pass to the far one, per scenario of a kind (writes include tenant create). */
function distanceGoal(
  idle: Pass,
  far: Pass | null,
  kind: "read" | "write" | "cold",
  factor: number,
  goal: (rtt: string) => string,
): Goal {
  if (!far) return { goal: goal("R"), measured: "not measured (no far pass: --rtt 0)", met: null };
  const kinds: Row["kind"][] = kind === "write" ? ["write", "tenant_create"] : [kind];
  const checks = idle.rows
    .filter((r) => kinds.includes(r.kind))
    .flatMap((row) => {
      const there = far.rows.find((r) => r.scenario === row.scenario);
      return there ? [{ row, value: there.p50 - row.p50, limit: factor * far.rttMs }] : [];
    });
  return worst(goal(`${far.rttMs} ms`), checks, (c) => `${signed(c.value)} ms (${c.row.scenario})`);
}

/** A goal over several scenarios: met when every one is within its limit; reports the worst. */
function worst(
  goal: string,
  checks: Check[],
  show = (c: Check) => `${round(c.value)} (${c.row.scenario})`,
): Goal {
  if (checks.length === 0) return { goal, measured: "no scenario", met: null };
  const excess = (c: Check) => (Number.isNaN(c.value) ? Number.POSITIVE_INFINITY : c.value - c.limit);
  const sorted = [...checks].sort((a, b) => excess(b) - excess(a));
  const top = sorted[0] as Check;
  const missed = checks.filter((c) => excess(c) > 0).length;
  const tail = missed > 0 ? `; ${missed} of ${checks.length} over` : `; all ${checks.length} within`;
  return { goal, measured: `worst ${show(top)}${tail}`, met: missed === 0 };
}
