/**
 * `npm run bench`: starts the local stack and the Worker (Miniflare over HTTP) and measures
 * routes with autocannon on loopback, bounded in time. Prints req/s, p50, p99 and the ratio
 * of each scenario to the no-backend baseline.
 */
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import autocannon from "autocannon";
import { startBackends } from "../dev/backends";
import { startWorkerServer } from "../dev/worker-server";

const DURATION_S = Number(process.env.BENCH_SECONDS ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);

interface Scenario {
  name: string;
  path: string;
}

const SCENARIOS: Scenario[] = [
  { name: "baseline (GET /health/live, no backend)", path: "/health/live" },
  { name: "health (GET /health, 1 Postgres + 1 Redis)", path: "/health" },
];

interface Row {
  scenario: string;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
}

async function measure(url: string, scenario: Scenario): Promise<Row> {
  const result = await autocannon({
    url: `${url}${scenario.path}`,
    connections: CONNECTIONS,
    duration: DURATION_S,
  });
  return {
    scenario: scenario.name,
    rps: Math.round(result.requests.average),
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors,
    non2xx: result.non2xx,
  };
}

async function main(): Promise<void> {
  const runId = randomBytes(4).toString("hex");
  const backends = await startBackends({
    dataDir: join(tmpdir(), `tenantry-bench-${process.pid}-${runId}`),
    persistent: false,
    database: `tenantry_bench_${runId}`,
    dropOnStop: Boolean(process.env.DATABASE_URL),
    adminEmail: "admin@bench.test",
    adminPassword: "bench-admin-password",
  });
  const worker = await startWorkerServer({
    bindings: {
      DATABASE_URL: backends.databaseUrl,
      NEON_LOCAL_PROXY: backends.neonProxy,
      NEON_LOCAL_HTTP: backends.neonHttp,
      UPSTASH_REDIS_REST_URL: backends.upstashUrl,
      UPSTASH_REDIS_REST_TOKEN: backends.upstashToken,
      JWT_SECRET: randomBytes(32).toString("base64url"),
      MASTER_KEY: randomBytes(32).toString("base64"),
      PROVISIONER_SECRET: randomBytes(32).toString("base64url"),
      PROVISIONER_URL: "http://127.0.0.1:1",
      LOG_LEVEL: "warn",
    },
  });
  try {
    const rows: Row[] = [];
    for (const scenario of SCENARIOS) {
      await measure(worker.url, scenario); // warm-up: JIT, connection setup
      rows.push(await measure(worker.url, scenario));
    }
    const baseline = rows[0] as Row;
    console.log(`\n${CONNECTIONS} connections, ${DURATION_S} s per scenario, loopback\n`);
    console.table(
      rows.map((r) => ({
        scenario: r.scenario,
        "req/s": r.rps,
        "p50 ms": r.p50,
        "p99 ms": r.p99,
        "p50 ÷ baseline": (r.p50 / Math.max(baseline.p50, 0.001)).toFixed(2),
        "baseline req/s ÷ req/s": (baseline.rps / Math.max(r.rps, 1)).toFixed(2),
        errors: r.errors + r.non2xx,
      })),
    );
  } finally {
    await worker.stop();
    await backends.stop();
  }
}

await main();
