/**
 * Runs one scenario against its Worker: a warm-up by time (JIT, caches, connections; its rate
 * sizes the measurement), then a fixed number of requests under autocannon. Every response's
 * time is kept, so percentiles are exact; the stand-ins' counters and the processes' CPU clocks
 * are read around the measured requests only (after a pause for background work to land), so
 * trips, Redis commands and CPU per request are totals over those requests divided by their
 * number — background work (metrics, last_used_at, the queue consumer) included, amortised.
 * Optionally, right after the warm-up, a few sequential requests, each with its own counter
 * difference: the trips a single request makes while the client waits for it.
 */
import { setTimeout as sleep } from "node:timers/promises";
import autocannon from "autocannon";
import type { Backends } from "../dev/backends";
import type { CpuClock } from "./process-cpu";
import type { RequestSpec, Scenario, ScenarioKind } from "./scenarios";
import { percentile, round } from "./stats";

export const WARMUP_SECONDS = 0.5;
const MIN_REQUESTS = 40;
const SEQUENTIAL_PAUSE_MS = 40;
const SAMPLE_INTERVAL_MS = 50;

export interface Target {
  url: string;
  /** The workerd process serving `url`. */
  cpu: CpuClock;
}

export interface MeasureOptions {
  backends: Backends;
  postgresCpu: CpuClock;
  connections: number;
  seconds: number;
  rttMs: number;
  /** Sequential requests measured one by one for their own trips (0: none). */
  sequentialSamples: number;
}

export interface Row {
  scenario: string;
  kind: ScenarioKind;
  /** For a dedicated tenant's scenario, the shared one it repeats; null otherwise. */
  twin: string | null;
  requests: number;
  connections: number;
  rps: number;
  p50: number;
  p95: number;
  p99: number;
  /** Non-2xx answers and socket errors among the measured requests. */
  errors: number;
  /** Postgres round trips per request: SQL-over-HTTP requests and WebSocket message exchanges. */
  pgHttp: number;
  pgWs: number;
  pgTrips: number;
  /** The fewest Postgres trips one sequential request made between sending and its answer (null: not sampled). */
  pgTripsOnRequest: number | null;
  redisOnRequest: number | null;
  /** Upstash REST requests and the commands they carried, per request. */
  redisTrips: number;
  redisCommands: number;
  /** CPU per request of the workerd serving it and of Postgres (null off Linux). */
  workerCpuMs: number | null;
  pgCpuMs: number | null;
}

interface Counters {
  pgHttp: number;
  pgWs: number;
  redisTrips: number;
  redisCommands: number;
  workerCpuMs: number | null;
  pgCpuMs: number | null;
}

/** One scenario's requests, numbered on across everything that runs it. */
export class ScenarioRun {
  #next = 0;
  constructor(readonly scenario: Scenario) {}
  next(): RequestSpec {
    return this.scenario.request(this.#next++);
  }
  get remaining(): number {
    return (this.scenario.budget ?? Number.POSITIVE_INFINITY) - this.#next;
  }
}

export async function measureScenario(run: ScenarioRun, target: Target, opts: MeasureOptions): Promise<Row> {
  const connections = run.scenario.connections ?? opts.connections;
  const settle = () => sleep(200 + 3 * opts.rttMs);
  const warm = await load(run, target.url, { connections, duration: WARMUP_SECONDS });
  const rate = warm.completed / Math.max(warm.seconds, 0.001);
  const amount = Math.max(
    Math.min(Math.round(rate * opts.seconds), run.remaining - opts.sequentialSamples),
    Math.min(MIN_REQUESTS, run.remaining),
  );
  await settle();
  // Right after the warm-up, which has just refreshed any auth cache entry that expired.
  const onRequest = await sampleSequential(run, target.url, opts);
  await settle();
  const before = await counters(opts, target);
  const measured = await load(run, target.url, { connections, amount });
  await settle();
  const after = await counters(opts, target);
  const per = (key: keyof Counters) => perRequest(before[key], after[key], amount);
  const sorted = measured.latencies.sort((a, b) => a - b);
  return {
    scenario: run.scenario.name,
    kind: run.scenario.kind,
    twin: run.scenario.twin ?? null,
    requests: amount,
    connections,
    rps: Math.round(amount / measured.seconds),
    p50: round(percentile(sorted, 0.5)),
    p95: round(percentile(sorted, 0.95)),
    p99: round(percentile(sorted, 0.99)),
    errors: measured.errors,
    pgHttp: per("pgHttp") ?? 0,
    pgWs: per("pgWs") ?? 0,
    pgTrips: round((per("pgHttp") ?? 0) + (per("pgWs") ?? 0)),
    pgTripsOnRequest: onRequest?.pg ?? null,
    redisOnRequest: onRequest?.redis ?? null,
    redisTrips: per("redisTrips") ?? 0,
    redisCommands: per("redisCommands") ?? 0,
    workerCpuMs: per("workerCpuMs"),
    pgCpuMs: per("pgCpuMs"),
  };
}

/** Unmeasured traffic, e.g. to bring a fresh stack's JIT and connection pools up before anything is timed. */
export async function warmUp(
  run: ScenarioRun,
  target: Target,
  connections: number,
  seconds: number,
): Promise<void> {
  await load(run, target.url, { connections, duration: seconds });
}

interface LoadResult {
  completed: number;
  seconds: number;
  latencies: number[];
  errors: number;
}

/** autocannon over `connections`, for `duration` seconds or exactly `amount` requests. */
function load(
  run: ScenarioRun,
  url: string,
  opts: { connections: number; duration?: number; amount?: number },
): Promise<LoadResult> {
  const latencies: number[] = [];
  let errors = 0;
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url,
        connections: opts.connections,
        // autocannon notices the end of a run (time up, or `amount` answered) when it samples:
        // by default once a second, which would pad every run to whole seconds.
        sampleInt: SAMPLE_INTERVAL_MS,
        ...(opts.amount === undefined ? { duration: opts.duration } : { amount: opts.amount }),
        requests: [
          {
            setupRequest: (req) => {
              const r = run.next();
              return {
                ...req,
                method: r.method,
                path: r.path,
                headers: { ...req.headers, ...r.headers },
                body: r.body,
              };
            },
          },
        ],
      },
      (err, result) => {
        if (err) return reject(err);
        resolve({
          completed: latencies.length,
          seconds: (performance.now() - started) / 1000,
          latencies,
          errors: errors + result.errors + result.timeouts,
        });
      },
    );
    instance.on("response", (_client, status, _bytes, responseTime) => {
      latencies.push(responseTime);
      if (status < 200 || status > 299) errors++;
    });
  });
}

async function counters(opts: MeasureOptions, target: Target): Promise<Counters> {
  const { proxy, http, upstash } = opts.backends.stats;
  const snapshot = {
    pgHttp: http.requests,
    pgWs: proxy.roundTrips,
    redisTrips: upstash.requests,
    redisCommands: upstash.commands,
  };
  const [workerCpuMs, pgCpuMs] = await Promise.all([target.cpu.read(), opts.postgresCpu.read()]);
  return { ...snapshot, workerCpuMs, pgCpuMs };
}

/**
 * Each request alone, with a pause after it so its background work lands outside the next
 * one's window. The fewest trips any answered one made: background work, the queue consumer
 * and the 30 s expiry of the auth caches can only add trips to a window, never take the
 * request's own away.
 */
async function sampleSequential(
  run: ScenarioRun,
  url: string,
  opts: MeasureOptions,
): Promise<{ pg: number; redis: number } | null> {
  if (opts.sequentialSamples === 0) return null;
  const { proxy, http, upstash } = opts.backends.stats;
  const pg: number[] = [];
  const redis: number[] = [];
  for (let k = 0; k < opts.sequentialSamples; k++) {
    const r = run.next();
    const pg0 = http.requests + proxy.roundTrips;
    const redis0 = upstash.requests;
    const res = await fetch(`${url}${r.path}`, { method: r.method, headers: r.headers, body: r.body });
    // Counted when the answer's headers arrive: work the Worker starts once its response is
    // ready (a key's last_used_at) can reach the stand-ins while the body is still on its way.
    const ownPg = http.requests + proxy.roundTrips - pg0;
    const ownRedis = upstash.requests - redis0;
    await res.arrayBuffer();
    if (res.ok) {
      pg.push(ownPg);
      redis.push(ownRedis);
    }
    await sleep((run.scenario.samplePauseMs ?? SEQUENTIAL_PAUSE_MS) + 2 * opts.rttMs);
  }
  if (pg.length === 0) throw new Error(`${run.scenario.name}: no sequential request succeeded`);
  return { pg: Math.min(...pg), redis: Math.min(...redis) };
}

function perRequest(before: number | null, after: number | null, requests: number): number | null {
  if (before === null || after === null) return null;
  return Math.round(((after - before) / requests) * 1000) / 1000;
}
