/** bench/RESULTS.md and the console summary of one `npm run bench`. */
import { type Capacity, fmt, type Inputs, PRICES } from "./capacity";
import { type Goal, type Pass, type ScaleResult, tierPairs } from "./goals";
import type { KeyProbes } from "./key-probes";
import { type Row, WARMUP_SECONDS } from "./measure";
import type { MicroResult } from "./micro";
import { type PasswordHashReport, passwordHashingMarkdown, printPasswordHashing } from "./password-hash";
import { round, signed } from "./stats";

export interface Report {
  date: string;
  total_seconds: number;
  machine: { cores: number; connections: number; seconds_per_scenario: Record<string, number> };
  passes: Pass[];
  goals: Goal[];
  inputs: Inputs[];
  capacity: Capacity;
  scale: ScaleResult;
  key_probes: KeyProbes;
  micro: MicroResult[];
  password_hashing: PasswordHashReport;
}

const CPU_NOTE =
  "Worker CPU is the workerd process's CPU time over the measured requests ÷ their number: the Worker's JavaScript and also workerd's own HTTP handling, Miniflare's routing entry Worker and the loopback sockets to the stand-ins, so it overstates what Workers bills. Postgres CPU is the local Postgres's (postmaster, live backends and exited ones) over the same requests. Both at the idle pass's concurrency on this 2-core machine, shared with the load generator and the stand-ins.";

const TRIPS_NOTE =
  "Trips per request are the stand-ins' counters over all measured requests ÷ their number, background work included (metrics flushes, API key `last_used_at`, the queue consumer's work for tenant create). 'Own trips' are the fewest trips any of 9 one-at-a-time requests (sent right after the warm-up) made between being sent and their answer's headers arriving: what the client waits for, without background work, the queue consumer or the auth caches' 30 s expiry, which only add. Postgres trips are SQL-over-HTTP requests plus WebSocket message exchanges.";

const TIERS_NOTE =
  "Each scenario that reaches the tenant's own rows runs for shared tenants (rows in the control database) and right after for dedicated ones (each with a Postgres database of its own, its connection string sealed in the tenant record the Worker already loads), so the two meet the same load on the machine. Writes of identity rows (API keys, members, invitations, the tenant) go to the control database whatever the tier and run once. Locally every database is in the same Postgres, and the Neon HTTP stand-in keeps a pool per database, as production keeps a compute per Neon project.";

export function renderMarkdown(report: Report): string {
  const [idle, far] = report.passes as [Pass, Pass | undefined];
  const cap = report.capacity;
  return [
    "# Benchmark results",
    "",
    `Run ${report.date} on this machine (${report.machine.cores} cores), all on loopback, in ${report.total_seconds} s: a pass with no simulated distance${far ? ` and a pass with ${far.rttMs} ms added to every Neon and Upstash round trip` : ""}. ${report.machine.connections} connections (the cold reads: 1), about ${report.machine.seconds_per_scenario.idle} s per scenario at rtt 0${far ? ` and ${report.machine.seconds_per_scenario.far} s at rtt ${far.rttMs}` : ""} after a ${WARMUP_SECONDS} s warm-up. Reproduce with \`npm run bench\`${far ? ` (\`-- --rtt ${far.rttMs}\` is the default)` : ""}.`,
    "",
    report.passes
      .map(
        (p) =>
          `Pass at rtt ${p.rttMs} ms: ${p.seconds} s, 1-minute load average ${p.loadAverage.start} → ${p.loadAverage.end}.`,
      )
      .join(" "),
    "",
    "## Goals",
    "",
    "| goal | measured | met |",
    "|---|---|---|",
    ...report.goals.map((g) => `| ${g.goal} | ${g.measured} | ${metText(g.met)} |`),
    "",
    "## Shared and dedicated tenants",
    "",
    TIERS_NOTE,
    "",
    far
      ? `| scenario | p50 ms shared | p50 ms dedicated | ratio | p50 ms shared @${far.rttMs} | p50 ms dedicated @${far.rttMs} | ratio @${far.rttMs} | own Postgres trips shared / dedicated |`
      : "| scenario | p50 ms shared | p50 ms dedicated | ratio | own Postgres trips shared / dedicated |",
    far ? "|---|---:|---:|---:|---:|---:|---:|---:|" : "|---|---:|---:|---:|---:|",
    ...tierRows(idle, far).map((t) =>
      [
        `| ${t.scenario} | ${t.shared} | ${t.dedicated} | ${t.ratio}`,
        ...(far ? [`${t.farShared} | ${t.farDedicated} | ${t.farRatio}`] : []),
        `${t.ownPg} |`,
      ].join(" | "),
    ),
    "",
    "## Latency",
    "",
    far
      ? `| scenario | req/s | p50 ms | p95 ms | p99 ms | p50 ms @${far.rttMs} | p95 ms @${far.rttMs} | p99 ms @${far.rttMs} | Δ p50 | errors |`
      : "| scenario | req/s | p50 ms | p95 ms | p99 ms | errors |",
    far ? "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|" : "|---|---:|---:|---:|---:|---:|",
    ...idle.rows.map((r) => {
      const there = far?.rows.find((f) => f.scenario === r.scenario);
      const base = `| ${r.scenario} | ${r.rps} | ${r.p50} | ${r.p95} | ${r.p99}`;
      if (!far) return `${base} | ${r.errors} |`;
      const delta = there ? signed(there.p50 - r.p50) : "–";
      return `${base} | ${there?.p50 ?? "–"} | ${there?.p95 ?? "–"} | ${there?.p99 ?? "–"} | ${delta} | ${r.errors} / ${there?.errors ?? "–"} |`;
    }),
    "",
    "## Per request (rtt 0 pass)",
    "",
    "| scenario | requests | Postgres trips (HTTP + WS) | own Postgres trips | Redis requests | Redis commands | own Redis requests | Worker CPU ms | Postgres CPU ms |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ...idle.rows.map(
      (r) =>
        `| ${r.scenario} | ${r.requests} | ${r.pgTrips} (${r.pgHttp} + ${r.pgWs}) | ${r.pgTripsOnRequest ?? "–"} | ${r.redisTrips} | ${r.redisCommands} | ${r.redisOnRequest ?? "–"} | ${r.workerCpuMs ?? "–"} | ${r.pgCpuMs ?? "–"} |`,
    ),
    "",
    TRIPS_NOTE,
    "",
    CPU_NOTE,
    "",
    "## Inputs by kind (what the capacity estimate uses)",
    "",
    "| kind | Postgres trips | Redis commands | Worker CPU ms | Postgres CPU ms |",
    "|---|---:|---:|---:|---:|",
    ...report.inputs.map(
      (i) =>
        `| ${i.kind} | ${fmt(i.pgTrips, 3)} | ${fmt(i.redisCommands, 3)} | ${num(i.workerCpuMs)} | ${num(i.pgCpuMs)} |`,
    ),
    "",
    `## Capacity and cost at ${fmt(cap.targetRps)} API calls/s`,
    "",
    `Mix: ${pct(cap.mix.read)} warm reads, ${pct(cap.mix.cold)} cold reads, ${pct(cap.mix.write)} writes (bench/capacity.ts). List prices as read on ${cap.pricesReadOn} — they change: [Workers](${PRICES.workers.source}), [Neon](${PRICES.neon.source}), [Upstash](${PRICES.upstash.source}).`,
    "",
    "| service | item | formula | quantity per month | USD per month |",
    "|---|---|---|---|---:|",
    ...cap.lines.map(
      (l) =>
        `| ${l.service} | ${l.item} | ${l.formula} | ${l.quantity} | ${l.usdPerMonth === null ? "–" : fmt(l.usdPerMonth)} |`,
    ),
    "",
    "| total (storage and data transfer not included) | USD per month |",
    "|---|---:|",
    ...cap.totals.map((t) => `| Workers + Neon ${t.neon} + Upstash ${t.upstash} | ${fmt(t.usdPerMonth)} |`),
    "",
    "## Scale",
    "",
    `Tenant read (JWT) with ${report.scale.tenants_small} tenants p50 ${report.scale.small.p50} ms / p95 ${report.scale.small.p95} ms; with ${fmt(report.scale.tenants_large)} tenants × ${report.scale.clusters_per_tenant} clusters (seeded in ${report.scale.seed_seconds} s) p50 ${report.scale.large.p50} ms / p95 ${report.scale.large.p95} ms.`,
    "",
    `API key refusal (fresh secret each time, ${report.key_probes.samples} sequential requests per case, median ms): unknown slug ${report.key_probes.median_ms.unknown}, deleted tenant ${report.key_probes.median_ms.deleted}, live tenant with a wrong secret ${report.key_probes.median_ms.live_wrong_secret}; max ÷ min ${report.key_probes.max_over_min}.`,
    "",
    "![p50 latency by scenario at rtt 0 and at the far pass's distance](chart.svg)",
    "",
    "In-process microbenchmarks (Node, same V8; µs per operation):",
    "",
    "| operation | p50 µs | p99 µs |",
    "|---|---:|---:|",
    ...report.micro.map((m) => `| ${m.op} | ${m.p50_us} | ${m.p99_us} |`),
    "",
    ...passwordHashingMarkdown(report.password_hashing),
  ].join("\n");
}

export function printReport(report: Report): void {
  const [idle, far] = report.passes as [Pass, Pass | undefined];
  console.log(`\nlatency (ms) at rtt 0${far ? ` and at rtt ${far.rttMs}` : ""}:`);
  console.table(
    idle.rows.map((r) => {
      const there = far?.rows.find((f) => f.scenario === r.scenario);
      return {
        scenario: r.scenario,
        "req/s": r.rps,
        p50: r.p50,
        p95: r.p95,
        ...(there ? { [`p50@${far?.rttMs}`]: there.p50, [`p95@${far?.rttMs}`]: there.p95 } : {}),
        errors: far ? `${r.errors}/${there?.errors ?? "-"}` : r.errors,
      };
    }),
  );
  console.log(`dedicated ÷ shared p50 at rtt 0${far ? ` and at rtt ${far.rttMs}` : ""}:`);
  console.table(tierRows(idle, far));
  console.log("per request (rtt 0 pass):");
  console.table(idle.rows.map(perRequestRow));
  console.log(
    "inputs by kind (mean per request, rtt 0 pass; Worker CPU = workerd process CPU, an upper bound):",
  );
  console.table(
    report.inputs.map((i) => ({
      kind: i.kind,
      "pg trips": round3(i.pgTrips),
      "redis cmds": round3(i.redisCommands),
      "worker CPU ms": i.workerCpuMs === null ? "-" : round3(i.workerCpuMs),
      "pg CPU ms": i.pgCpuMs === null ? "-" : round3(i.pgCpuMs),
    })),
  );
  const cap = report.capacity;
  console.log(
    `capacity at ${fmt(cap.targetRps)} calls/s, mix ${pct(cap.mix.read)} read / ${pct(cap.mix.cold)} cold / ${pct(cap.mix.write)} write, list prices read on ${cap.pricesReadOn}:`,
  );
  for (const l of cap.lines) {
    const usd = l.usdPerMonth === null ? "" : ` → $${fmt(l.usdPerMonth)}/month`;
    console.log(`  ${l.service} ${l.item}: ${l.formula} = ${l.quantity}${usd}`);
  }
  for (const t of cap.totals) {
    console.log(`  total, Neon ${t.neon} + Upstash ${t.upstash}: $${fmt(t.usdPerMonth)}/month`);
  }
  console.log(
    `API key refusal medians (ms): ${JSON.stringify(report.key_probes.median_ms)}; max/min ${report.key_probes.max_over_min}`,
  );
  console.table(report.micro);
  console.log("\npassword hashing (one hash per request in workerd):");
  printPasswordHashing(report.password_hashing);
  console.log("\ngoals:");
  for (const g of report.goals) console.log(`  [${metText(g.met)}] ${g.goal}: ${g.measured}`);
  for (const p of report.passes) {
    console.log(
      `pass at rtt ${p.rttMs} ms: ${p.seconds} s, load average ${p.loadAverage.start} → ${p.loadAverage.end}`,
    );
  }
  console.log(`total ${report.total_seconds} s; wrote bench/results.json, bench/RESULTS.md, bench/chart.svg`);
}

/** One line per shared/dedicated pair: p50s and ratio at each pass, own trips at rtt 0. */
function tierRows(idle: Pass, far: Pass | undefined) {
  const farPairs = far ? tierPairs(far) : [];
  return tierPairs(idle).map(({ shared, dedicated, ratio }) => {
    const there = farPairs.find((p) => p.shared.scenario === shared.scenario);
    return {
      scenario: shared.scenario,
      shared: shared.p50,
      dedicated: dedicated.p50,
      ratio: round(ratio),
      farShared: there?.shared.p50 ?? "–",
      farDedicated: there?.dedicated.p50 ?? "–",
      farRatio: there ? round(there.ratio) : "–",
      ownPg: `${shared.pgTripsOnRequest ?? "–"} / ${dedicated.pgTripsOnRequest ?? "–"}`,
    };
  });
}

function perRequestRow(r: Row) {
  return {
    scenario: r.scenario,
    "pg trips": r.pgTrips,
    "own pg": r.pgTripsOnRequest ?? "-",
    "redis reqs": r.redisTrips,
    "redis cmds": r.redisCommands,
    "worker CPU ms": r.workerCpuMs ?? "-",
    "pg CPU ms": r.pgCpuMs ?? "-",
  };
}

const metText = (met: boolean | null) => (met === null ? "not measured" : met ? "met" : "not met");
const pct = (share: number) => `${Math.round(share * 100)}%`;
const round3 = (n: number) => Math.round(n * 1000) / 1000;
const num = (n: number | null) => (n === null ? "–" : fmt(n, 3));
