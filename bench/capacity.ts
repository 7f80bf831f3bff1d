/**
 * Capacity and cost on paper (issue 18 item 7): the measured per-request inputs (Postgres
 * trips, Redis commands, Worker and Postgres CPU) by kind of request, and what the seed
 * design's target — 10,000 API calls/s across 100+ tenants — needs and costs a month on
 * Workers, Neon and Upstash at their published list prices, for a mix of reads, cold reads
 * and writes. The README's "Capacity and cost" section is this computation; change the mix
 * or the prices here and rerun to re-derive it.
 */
import type { Pass } from "./goals";
import type { Row } from "./measure";

export const TARGET_RPS = 10_000;
/** Neon bills CU-hours; a month is taken as 730 hours throughout. */
export const HOURS_PER_MONTH = 730;

/** Shares of the target rate; `cold` is reads that meet an empty isolate cache (an assumption). */
export interface Mix {
  read: number;
  cold: number;
  write: number;
}
export const DEFAULT_MIX: Mix = { read: 0.85, cold: 0.05, write: 0.1 };

/** List prices, USD, as read on PRICES_READ_ON. They change: check the sources before relying on them. */
export const PRICES_READ_ON = "2026-11-30";
export const PRICES = {
  workers: {
    source: "https://developers.cloudflare.com/workers/platform/pricing/",
    monthly: 5,
    includedRequests: 10_000_000,
    perMillionRequests: 0.3,
    includedCpuMs: 30_000_000,
    perMillionCpuMs: 0.02,
  },
  neon: {
    source: "https://neon.com/docs/introduction/plans",
    launchPerCuHour: 0.106,
    scalePerCuHour: 0.222,
    /** The largest compute on Launch and Scale's autoscaling; Scale also has fixed sizes up to 56 CU. */
    maxAutoscaleCu: 16,
    /** A CU is ~4 GB RAM with its share of CPU, taken as 1 vCPU. */
    vcpuPerCu: 1,
    /** Size the compute so Postgres runs at most this busy. */
    targetUtilisation: 0.6,
  },
  upstash: {
    source: "https://upstash.com/docs/redis/overall/billing",
    paygPer100kCommands: 0.2,
    /** Pay as you go caps each database's throughput; the first 10 databases are free. */
    paygMaxCommandsPerSecond: 10_000,
    freeDatabases: 10,
    perExtraDatabase: 0.5,
    /** The Fixed plan with the highest throughput cap, as a flat-price alternative. */
    fixed: { plan: "Fixed 100 GB", monthly: 800, maxCommandsPerSecond: 16_000, bandwidthTb: 10 },
  },
} as const;

export interface Inputs {
  kind: string;
  scenarios: number;
  pgTrips: number;
  redisCommands: number;
  workerCpuMs: number | null;
  pgCpuMs: number | null;
}

export interface CapacityLine {
  service: "Workers" | "Neon" | "Upstash";
  item: string;
  formula: string;
  quantity: string;
  usdPerMonth: number | null;
}

export interface Capacity {
  targetRps: number;
  mix: Mix;
  inputs: { read: Inputs; cold: Inputs; write: Inputs };
  weighted: Omit<Inputs, "kind" | "scenarios">;
  lines: CapacityLine[];
  /** Workers + Neon (Launch or Scale) + Upstash (pay as you go, or the flat plan if its bandwidth suffices). */
  totals: Array<{ neon: "Launch" | "Scale"; upstash: "pay as you go" | string; usdPerMonth: number }>;
  pricesReadOn: string;
}

/** The inputs by kind: each scenario of the idle pass, and the means the capacity uses. */
export function perRequestInputs(idle: Pass): {
  byKind: Inputs[];
  read: Inputs;
  cold: Inputs;
  write: Inputs;
} {
  // Shared tenants' scenarios: the dedicated twins repeat them (bench/goals.ts compares the two).
  const of = (kind: Row["kind"]) => idle.rows.filter((r) => r.kind === kind && r.twin === null);
  const read = mean("read (mean of the auth modes)", of("read"));
  const cold = mean("cold read (mean of JWT and API key)", of("cold"));
  const write = mean("write (mean of the single-resource writes)", of("write"));
  const each = (rows: Row[]) => rows.map((r) => mean(r.scenario, [r]));
  return {
    byKind: [read, ...each(of("read")), cold, ...each(of("cold")), write, ...each(of("tenant_create"))],
    read,
    cold,
    write,
  };
}

export function capacity(idle: Pass, far: Pass | null, mix: Mix = DEFAULT_MIX): Capacity {
  const { read, cold, write } = perRequestInputs(idle);
  const weigh = (key: "pgTrips" | "redisCommands" | "workerCpuMs" | "pgCpuMs") =>
    mix.read * (read[key] ?? 0) + mix.cold * (cold[key] ?? 0) + mix.write * (write[key] ?? 0);
  const weighted = {
    pgTrips: weigh("pgTrips"),
    redisCommands: weigh("redisCommands"),
    workerCpuMs: weigh("workerCpuMs"),
    pgCpuMs: weigh("pgCpuMs"),
  };
  const requests = TARGET_RPS * 3600 * HOURS_PER_MONTH;
  const { workers, neon, upstash } = PRICES;

  const cpuMs = requests * weighted.workerCpuMs;
  const requestUsd = (Math.max(0, requests - workers.includedRequests) / 1e6) * workers.perMillionRequests;
  const cpuUsd = (Math.max(0, cpuMs - workers.includedCpuMs) / 1e6) * workers.perMillionCpuMs;

  const commandsPerSecond = TARGET_RPS * weighted.redisCommands;
  const commands = commandsPerSecond * 3600 * HOURS_PER_MONTH;
  const paygUsd = (commands / 100_000) * upstash.paygPer100kCommands;
  const databases = Math.max(1, Math.ceil(commandsPerSecond / upstash.paygMaxCommandsPerSecond));
  const databaseUsd = Math.max(0, databases - upstash.freeDatabases) * upstash.perExtraDatabase;
  const fixedDatabases = Math.max(1, Math.ceil(commandsPerSecond / upstash.fixed.maxCommandsPerSecond));

  const vcpus = (TARGET_RPS * weighted.pgCpuMs) / 1000;
  const cu = Math.ceil((vcpus / neon.vcpuPerCu / neon.targetUtilisation) * 4) / 4;
  const cuHours = cu * HOURS_PER_MONTH;
  const launchFits = cu <= neon.maxAutoscaleCu;
  const neonUsd = { Launch: cuHours * neon.launchPerCuHour, Scale: cuHours * neon.scalePerCuHour };
  const pool = poolConnections(idle, far, mix);

  const lines: CapacityLine[] = [
    {
      service: "Workers",
      item: "requests",
      formula: `${fmt(TARGET_RPS)}/s × 3,600 × ${HOURS_PER_MONTH} h; (n − 10 M) × $${workers.perMillionRequests}/M`,
      quantity: `${fmt(requests / 1e9, 2)} billion`,
      usdPerMonth: requestUsd,
    },
    {
      service: "Workers",
      item: "CPU time",
      formula: `requests × ${fmt(weighted.workerCpuMs, 3)} ms (mix-weighted); (ms − 30 M) × $${workers.perMillionCpuMs}/M`,
      quantity: `${fmt(cpuMs / 1e9, 2)} billion ms`,
      usdPerMonth: cpuUsd,
    },
    {
      service: "Workers",
      item: "Workers Paid subscription",
      formula: "flat",
      quantity: "1 account",
      usdPerMonth: workers.monthly,
    },
    {
      service: "Neon",
      item: "compute on Launch",
      formula: `${fmt(TARGET_RPS)}/s × ${fmt(weighted.pgCpuMs, 3)} ms Postgres CPU = ${fmt(vcpus, 2)} vCPU; ÷ ${neon.targetUtilisation} busy, 1 CU ≈ ${neon.vcpuPerCu} vCPU, always on; × $${neon.launchPerCuHour}/CU-hour`,
      quantity: launchFits
        ? `${cu} CU × ${HOURS_PER_MONTH} h = ${fmt(cuHours)} CU-hours`
        : `${cu} CU: more than Launch's ${neon.maxAutoscaleCu} CU`,
      usdPerMonth: launchFits ? neonUsd.Launch : null,
    },
    {
      service: "Neon",
      item: "compute on Scale",
      formula: `same CU × $${neon.scalePerCuHour}/CU-hour${launchFits ? "" : ` (a fixed size: Scale's autoscaling also stops at ${neon.maxAutoscaleCu} CU)`}`,
      quantity: `${cu} CU × ${HOURS_PER_MONTH} h = ${fmt(cuHours)} CU-hours`,
      usdPerMonth: neonUsd.Scale,
    },
    {
      service: "Neon",
      item: "connections held open by the Worker",
      formula: `HTTP queries hold none; WebSocket Pool writes: ${pool.formula}`,
      quantity: `${fmt(pool.connections)} (Postgres round trips: ${fmt(TARGET_RPS * weighted.pgTrips)}/s)`,
      usdPerMonth: null,
    },
    {
      service: "Upstash",
      item: "commands, pay as you go",
      formula: `${fmt(TARGET_RPS)}/s × ${fmt(weighted.redisCommands, 3)} (mix-weighted) = ${fmt(commandsPerSecond)}/s; × $${upstash.paygPer100kCommands}/100K`,
      quantity: `${fmt(commands / 1e9, 2)} billion commands`,
      usdPerMonth: paygUsd,
    },
    {
      service: "Upstash",
      item: "databases, pay as you go",
      formula: `${fmt(commandsPerSecond)}/s ÷ ${fmt(upstash.paygMaxCommandsPerSecond)}/s per database, rounded up (tenants' keys split between them); first ${upstash.freeDatabases} free`,
      quantity: `${databases}`,
      usdPerMonth: databaseUsd,
    },
    {
      service: "Upstash",
      item: `or flat: ${upstash.fixed.plan}`,
      formula: `${fmt(commandsPerSecond)}/s ÷ ${fmt(upstash.fixed.maxCommandsPerSecond)}/s per database, rounded up, × $${upstash.fixed.monthly}; only if ${upstash.fixed.bandwidthTb} TB/month of bandwidth each covers the traffic (not measured here)`,
      quantity: `${fixedDatabases} × ${upstash.fixed.plan}`,
      usdPerMonth: fixedDatabases * upstash.fixed.monthly,
    },
  ];
  const workersUsd = workers.monthly + requestUsd + cpuUsd;
  const upstashUsd = {
    "pay as you go": paygUsd + databaseUsd,
    [upstash.fixed.plan]: fixedDatabases * upstash.fixed.monthly,
  };
  return {
    targetRps: TARGET_RPS,
    mix,
    inputs: { read, cold, write },
    weighted,
    lines,
    totals: (launchFits ? (["Launch", "Scale"] as const) : (["Scale"] as const)).flatMap((plan) =>
      Object.entries(upstashUsd).map(([redisPlan, usd]) => ({
        neon: plan,
        upstash: redisPlan,
        usdPerMonth: workersUsd + neonUsd[plan] + usd,
      })),
    ),
    pricesReadOn: PRICES_READ_ON,
  };
}

/**
 * Little's law for the writes that still use the WebSocket Pool: each holds a connection for
 * its whole duration (taken at the far pass's distance when there is one).
 */
function poolConnections(idle: Pass, far: Pass | null, mix: Mix): { connections: number; formula: string } {
  const writes = idle.rows.filter((r) => r.kind === "write");
  const pooled = writes.filter((r) => r.pgWs > 0.5);
  if (pooled.length === 0) return { connections: 0, formula: "none left" };
  const durations = pooled.map((r) => (far?.rows.find((f) => f.scenario === r.scenario) ?? r).p50);
  const seconds = durations.reduce((a, b) => a + b, 0) / durations.length / 1000;
  const rate = TARGET_RPS * mix.write * (pooled.length / writes.length);
  return {
    connections: rate * seconds,
    formula: `${fmt(rate)}/s (${pooled.length} of ${writes.length} write kinds) × ${fmt(seconds, 3)} s each (p50 at rtt ${far?.rttMs ?? idle.rttMs} ms)`,
  };
}

function mean(kind: string, rows: Row[]): Inputs {
  const avg = (pick: (r: Row) => number | null) => {
    const values = rows.map(pick);
    if (values.length === 0 || values.some((v) => v === null)) return null;
    return (values as number[]).reduce((a, b) => a + b, 0) / values.length;
  };
  return {
    kind,
    scenarios: rows.length,
    pgTrips: avg((r) => r.pgTrips) ?? 0,
    redisCommands: avg((r) => r.redisCommands) ?? 0,
    workerCpuMs: avg((r) => r.workerCpuMs),
    pgCpuMs: avg((r) => r.pgCpuMs),
  };
}

export function fmt(n: number, digits = 0): string {
  return n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
}
