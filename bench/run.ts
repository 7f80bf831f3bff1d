/**
 * `npm run bench`: the whole stack on loopback (Postgres + Neon stand-ins, Redis + Upstash
 * adapter, the Worker over HTTP through Miniflare), measured with autocannon, bounded in time,
 * in two passes on two fresh stacks: one with no simulated distance, one with `--rtt <ms>`
 * (default 50; `--rtt 0` skips it) added to every Neon and Upstash round trip. Tenant reads and
 * writes of the tenant's own rows run for shared tenants and for dedicated ones (each with a
 * database of its own, bench/seed-dedicated.ts). First, before
 * any stack starts, the cost of one password hash in workerd (bench/password-hash.ts).
 * Prints the goals with met / not met and the per-request inputs of the capacity estimate;
 * writes bench/results.json, bench/RESULTS.md and bench/chart.svg.
 */
import { randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { type Backends, startBackends } from "../dev/backends";
import { withClient } from "../dev/migrate";
import { parseSimRtt, SIM_RTT_ENV } from "../dev/sim-rtt";
import { startWorkerServer, type WorkerServer } from "../dev/worker-server";
import { startProvisioner } from "../provisioner/src/server";
import { capacity, perRequestInputs } from "./capacity";
import { renderChart } from "./chart";
import { judgeGoals, type Pass, type ScaleResult } from "./goals";
import { keyProbeLatency } from "./key-probes";
import { type MeasureOptions, measureScenario, type Row, ScenarioRun, type Target, warmUp } from "./measure";
import { runMicro, runRateLimitStep } from "./micro";
import { measurePasswordHashing } from "./password-hash";
import { type CpuClock, postgresClock, processClock, workerdProcesses } from "./process-cpu";
import { printReport, type Report, renderMarkdown } from "./report";
import {
  floorScenario,
  readScenarios,
  type Scenario,
  type ScenarioInputs,
  type Server,
  tenantCreateScenario,
  writeScenarios,
} from "./scenarios";
import { type Probe, seedTenants, seedWriteTargets, signAccessToken } from "./seed";
import { seedDedicatedTenants } from "./seed-dedicated";
import { round } from "./stats";

const SECONDS = {
  idle: Number(process.env.BENCH_SECONDS ?? 4),
  far: Number(process.env.BENCH_FAR_SECONDS ?? 3),
};
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
/** Sequential requests per scenario whose own trips are counted (idle pass only: trips do not depend on distance). */
const SEQUENTIAL_SAMPLES = 9;
const SMALL = 100;
const LARGE = Number(process.env.BENCH_LARGE_TENANTS ?? 10_000);
const READERS = 20;
const WRITERS = 10;
/**
 * Dedicated probe tenants, each with a database of its own (made and migrated per pass). As
 * many writers as shared ones, so each tenant sees the same concurrency (row locks, quota
 * counts); readers contend on nothing per tenant, so fewer do.
 */
const DEDICATED_READERS = Number(process.env.BENCH_DEDICATED_READERS ?? 5);
const DEDICATED_WRITERS = WRITERS;
/** Rows per writer tenant for each delete scenario: more than a fast delete makes in its warm-up and run. */
const POOL_PER_WRITER = Number(process.env.BENCH_POOL ?? 600);
const DEFAULT_FAR_RTT_MS = 50;
const STACK_WARMUP_SECONDS = 1.5;
const OUT = new URL(".", import.meta.url);

// `--rtt <ms>` (else TENANTRY_SIM_RTT_MS, else 50): the far pass's simulated distance to Neon and Upstash.
const { values: args } = parseArgs({ options: { rtt: { type: "string" } } });
const FAR_RTT_MS =
  args.rtt !== undefined
    ? parseSimRtt(args.rtt, "--rtt")
    : process.env[SIM_RTT_ENV]
      ? parseSimRtt(process.env[SIM_RTT_ENV])
      : DEFAULT_FAR_RTT_MS;

interface Stack {
  backends: Backends;
  targets: Record<Server, Target>;
  postgresCpu: CpuClock;
  inputs: ScenarioInputs;
  jwtSecret: string;
}

async function main(): Promise<void> {
  const started = Date.now();
  // Before Postgres and the Workers start, so they take no CPU from it; throws if a check fails.
  const passwordHashing = await measurePasswordHashing();
  const [pbkdf2, argon2id] = passwordHashing.schemes;
  console.log(
    `  password hashing: PBKDF2 ${pbkdf2?.median_ms} ms, argon2id ${argon2id?.median_ms} ms (median); ` +
      `argon2id ÷ PBKDF2 ${passwordHashing.argon2id_over_pbkdf2.cpu} (CPU)`,
  );

  let scale: ScaleResult | undefined;
  let keyProbes: Report["key_probes"] | undefined;
  let micro: Report["micro"] = [];
  const idle = await timedPass(0, (stack) =>
    runPass(stack, 0, SECONDS.idle, SEQUENTIAL_SAMPLES, async () => {
      const reader = stack.inputs.readers[0] as Probe;
      keyProbes = await keyProbeLatency(stack.targets.api.url, stack.backends.adminDatabaseUrl, reader);
      scale = await measureScale(stack);
      micro = [
        ...(await runMicro()),
        ...(await runRateLimitStep({ url: stack.backends.upstashUrl, token: stack.backends.upstashToken })),
      ];
    }),
  );
  const far =
    FAR_RTT_MS > 0
      ? await timedPass(FAR_RTT_MS, (stack) => runPass(stack, FAR_RTT_MS, SECONDS.far, 0))
      : null;
  if (!scale || !keyProbes) throw new Error("the idle pass did not measure scale and key probes");

  const report: Report = {
    date: new Date().toISOString(),
    total_seconds: round((Date.now() - started) / 1000),
    machine: { cores: cpus().length, connections: CONNECTIONS, seconds_per_scenario: SECONDS },
    passes: far ? [idle, far] : [idle],
    goals: judgeGoals(idle, far, scale),
    inputs: perRequestInputs(idle).byKind,
    capacity: capacity(idle, far),
    scale,
    key_probes: keyProbes,
    micro,
    password_hashing: passwordHashing,
  };
  await writeFile(new URL("results.json", OUT), `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(new URL("RESULTS.md", OUT), renderMarkdown(report));
  await writeFile(
    new URL("chart.svg", OUT),
    renderChart(
      idle.rows.map((r) => ({
        scenario: r.scenario,
        near: r.p50,
        far: far?.rows.find((f) => f.scenario === r.scenario)?.p50 ?? null,
      })),
      { near: "rtt 0", far: far ? `rtt ${far.rttMs} ms` : "–" },
    ),
  );
  printReport(report);
}

/** A pass on its own fresh stack, with its wall time and the machine's load around it. */
async function timedPass(rttMs: number, run: (stack: Stack) => Promise<Row[]>): Promise<Pass> {
  const started = Date.now();
  const load = () => round(loadavg()[0] ?? 0);
  const loadStart = load();
  const rows = await withStack(rttMs, run);
  const seconds = round((Date.now() - started) / 1000);
  console.log(`  pass at rtt ${rttMs} ms: ${seconds} s, load average ${loadStart} → ${load()}`);
  return { rttMs, rows, seconds, loadAverage: { start: loadStart, end: load() } };
}

/**
 * Every read scenario, every write, then `between` (the idle pass's extra measurements), then
 * tenant create: its provisioning jobs keep the queue consumer busy for minutes after.
 */
async function runPass(
  stack: Stack,
  rttMs: number,
  seconds: number,
  sequentialSamples: number,
  between?: () => Promise<void>,
): Promise<Row[]> {
  console.log(`\npass at simulated rtt ${rttMs} ms`);
  const opts = measureOptions(stack, rttMs, seconds, sequentialSamples);
  // A fresh stack's first seconds are slower (JIT, the stand-ins' connection pools): spend
  // them on the floor and a read, unmeasured, so the first floor is not measured cold.
  await warmUp(new ScenarioRun(floorScenario()), stack.targets.floor, CONNECTIONS, STACK_WARMUP_SECONDS);
  await warmUp(new ScenarioRun(readJwt(stack)), stack.targets.api, CONNECTIONS, STACK_WARMUP_SECONDS);
  const rows: Row[] = [];
  const measure = async (scenario: Scenario) => {
    const started = Date.now();
    const row = await measureScenario(new ScenarioRun(scenario), stack.targets[scenario.server], opts);
    rows.push(row);
    const errors = row.errors > 0 ? `, ${row.errors} ERRORS` : "";
    console.log(
      `  ${scenario.name}: ${row.requests} req, ${row.rps} req/s, p50 ${row.p50} ms, p95 ${row.p95} ms, pg ${row.pgTrips}, redis ${row.redisCommands}${errors} (${round((Date.now() - started) / 1000)} s)`,
    );
  };
  for (const scenario of [
    floorScenario(),
    ...readScenarios(stack.inputs),
    floorScenario("floor, again before the writes"),
    ...writeScenarios(stack.inputs),
  ]) {
    await measure(scenario);
  }
  await between?.();
  await measure(tenantCreateScenario(stack.inputs));
  return rows;
}

function measureOptions(
  stack: Stack,
  rttMs: number,
  seconds: number,
  sequentialSamples: number,
): MeasureOptions {
  return {
    backends: stack.backends,
    postgresCpu: stack.postgresCpu,
    connections: CONNECTIONS,
    seconds,
    rttMs,
    sequentialSamples,
  };
}

/** Tenant read (JWT) with 100 tenants, then with LARGE tenants × 10 clusters seeded in bulk. */
async function measureScale(stack: Stack): Promise<ScaleResult> {
  const opts = measureOptions(stack, 0, SECONDS.idle, 0);
  const small = await measureScenario(new ScenarioRun(readJwt(stack)), stack.targets.api, opts);
  const seedStart = Date.now();
  await seedTenants(stack.backends.adminDatabaseUrl, stack.jwtSecret, LARGE - SMALL, { offset: SMALL });
  const seedSeconds = round((Date.now() - seedStart) / 1000);
  await withClient(stack.backends.adminDatabaseUrl, (client) => client.query("analyze"));
  const large = await measureScenario(new ScenarioRun(readJwt(stack)), stack.targets.api, opts);
  const pick = (r: Row) => ({ p50: r.p50, p95: r.p95, rps: r.rps });
  console.log(`  scale: ${SMALL} tenants p50 ${small.p50} ms, ${LARGE} tenants p50 ${large.p50} ms`);
  return {
    tenants_small: SMALL,
    tenants_large: LARGE,
    clusters_per_tenant: 10,
    seed_seconds: seedSeconds,
    small: pick(small),
    large: pick(large),
  };
}

function readJwt(stack: Stack): Scenario {
  return readScenarios(stack.inputs).find((s) => s.name === "tenant read, JWT") as Scenario;
}

/** A fresh database and stand-ins at `rttMs`, seeded, with the API, floor and cold Workers on top. */
async function withStack<T>(rttMs: number, fn: (stack: Stack) => Promise<T>): Promise<T> {
  const runId = randomBytes(4).toString("hex");
  const backends = await startBackends({
    dataDir: join(tmpdir(), `tenantry-bench-${process.pid}-${runId}`),
    persistent: false,
    database: `tenantry_bench_${runId}`,
    dropOnStop: Boolean(process.env.DATABASE_URL),
    adminEmail: "admin@bench.test",
    adminPassword: "bench-admin-password",
    simRttMs: rttMs,
  });
  const jwtSecret = randomBytes(32).toString("base64url");
  const provisionerSecret = randomBytes(32).toString("base64url");
  // Always dry-run (never a cluster, whatever KUBECONFIG says): tenant create's jobs then end
  // as `dry_run` in one delivery instead of retrying against nothing for minutes.
  const provisioner = await startProvisioner({
    port: 0,
    secret: provisionerSecret,
    dryRun: true,
    log: () => {},
  }).catch(async (err: unknown) => {
    await backends.stop();
    throw err;
  });
  const bindings = {
    DATABASE_URL: backends.databaseUrl,
    NEON_LOCAL_PROXY: backends.neonProxy,
    NEON_LOCAL_HTTP: backends.neonHttp,
    UPSTASH_REDIS_REST_URL: backends.upstashUrl,
    UPSTASH_REDIS_REST_TOKEN: backends.upstashToken,
    PROVISIONER_URL: provisioner.url,
    LOG_LEVEL: "warn",
    JWT_SECRET: jwtSecret,
    MASTER_KEY: randomBytes(32).toString("base64"),
    PROVISIONER_SECRET: provisionerSecret,
  };
  const servers: WorkerServer[] = [];
  let dropDedicated = async () => {};
  try {
    const probes = await seedTenants(backends.adminDatabaseUrl, jwtSecret, SMALL, {
      probes: READERS + WRITERS,
    });
    const readers = probes.slice(0, READERS);
    const writers = await seedWriteTargets(backends.adminDatabaseUrl, probes.slice(READERS), POOL_PER_WRITER);
    const dedicatedStart = Date.now();
    const dedicated = await seedDedicatedTenants({
      backends,
      masterKey: bindings.MASTER_KEY,
      jwtSecret,
      readers: DEDICATED_READERS,
      writers: DEDICATED_WRITERS,
      poolSize: POOL_PER_WRITER,
    });
    dropDedicated = dedicated.drop;
    console.log(
      `  ${DEDICATED_READERS + DEDICATED_WRITERS} dedicated tenants, each in its own database: ${round((Date.now() - dedicatedStart) / 1000)} s`,
    );
    const systemAdminJwt = await signAccessToken(jwtSecret, {
      sub: backends.seeded.userId,
      tenant_id: null,
      tenant_slug: null,
      role: null,
      is_system_admin: true,
    });
    const start = async (extra: Record<string, string> = {}, entry?: string): Promise<Target> => {
      const before = await workerdProcesses();
      const server = await startWorkerServer({ bindings: { ...bindings, ...extra }, entry });
      servers.push(server);
      const pid = [...(await workerdProcesses())].find((p) => !before.has(p));
      return { url: server.url, cpu: processClock(pid) };
    };
    const targets: Record<Server, Target> = {
      api: await start(),
      floor: await start({ FLOOR_TENANT_ID: (readers[0] as Probe).id }, "bench/floor-worker.ts"),
      cold: await start({}, "bench/cold-worker.js"),
    };
    return await fn({
      backends,
      targets,
      postgresCpu: await postgresClock(),
      inputs: {
        readers,
        writers,
        dedicated: { readers: dedicated.readers, writers: dedicated.writers },
        systemAdminJwt,
        runId,
      },
      jwtSecret,
    });
  } finally {
    for (const server of servers) await server.stop();
    await provisioner.stop();
    await dropDedicated();
    await backends.stop();
  }
}

await main();
