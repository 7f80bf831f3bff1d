/**
 * Starts every backend the Worker needs, in dependency order, on local stand-ins that speak
 * the production wire protocols: Postgres (+ the Neon WebSocket proxy) and Redis (+ the
 * Upstash REST adapter). Shared by `npm run dev` and the test setup so both run the same stack.
 */
import { randomBytes } from "node:crypto";
import { dropDatabase, prepareDatabase, seed } from "./migrate";
import { startNeonHttp } from "./neon-http";
import { startNeonWsProxy } from "./neon-ws-proxy";
import { startPostgres } from "./servers/postgres";
import { startRedis } from "./servers/redis";
import { parseSimRtt } from "./sim-rtt";
import { startUpstashAdapter } from "./upstash-adapter";

/** Simulated round-trip time to Neon and Upstash, in ms (see `simRttMs`). */

export interface Backends {
  /** The runtime role's URL (what the Worker's DATABASE_URL is). */
  databaseUrl: string;
  /** The owner's URL, for fixtures that must bypass RLS. */
  adminDatabaseUrl: string;
  /** The Postgres server URL without a database, for creating/dropping databases. */
  serverUrl: string;
  redisUrl: string;
  upstashUrl: string;
  upstashToken: string;
  /** `host:port` of the Neon WebSocket proxy (the Worker's NEON_LOCAL_PROXY). */
  neonProxy: string;
  /** The Neon SQL-over-HTTP emulator's URL (the Worker's NEON_LOCAL_HTTP). */
  neonHttp: string;
  /** Round-trip counters of the stand-ins, for the benchmark. */
  stats: {
    proxy: { roundTrips: number; connections: number };
    http: { requests: number };
    upstash: { requests: number; commands: number };
    reset(): void;
  };
  seeded: { tenantId: string; userId: string };
  /**
   * Crashes Postgres (immediate shutdown: in-flight statements die, nothing is checkpointed)
   * and starts it again on the same port and data, for fault tests. Resolves once it accepts
   * connections again; `during` runs while it is down.
   */
  restartPostgres(during?: () => Promise<void>): Promise<void>;
  stop(): Promise<void>;
}

export interface BackendOptions {
  dataDir: string;
  persistent: boolean;
  database: string;
  /** Drop the database on stop (tests against a shared DATABASE_URL server). */
  dropOnStop: boolean;
  adminEmail: string;
  adminPassword: string;
  redisDir?: string;
  /**
   * Simulated distance to the databases: the Neon HTTP emulator and the Upstash adapter wait
   * this long per request, the WebSocket proxy per message exchange. 0 (the default) adds nothing.
   */
  simRttMs?: number;
  log?: (service: string, message: string) => void;
}

export async function startBackends(opts: BackendOptions): Promise<Backends> {
  const log = opts.log ?? (() => {});
  const rttMs = parseSimRtt(String(opts.simRttMs ?? 0), "simRttMs");
  const stops: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => {});
  };
  try {
    let postgres = await startPostgres({ dataDir: opts.dataDir, persistent: opts.persistent });
    stops.push(() => postgres.stop());
    log("postgres", `listening on port ${postgres.port}`);

    const appPassword = randomBytes(18).toString("base64url");
    const db = await prepareDatabase({ serverUrl: postgres.adminUrl, database: opts.database, appPassword });
    if (opts.dropOnStop) stops.push(() => dropDatabase(postgres.adminUrl, opts.database));
    const seeded = await seed(db.adminUrl, {
      adminEmail: opts.adminEmail,
      adminPassword: opts.adminPassword,
    });
    log("postgres", `database ${opts.database} migrated and seeded`);

    const proxy = await startNeonWsProxy({ rttMs });
    stops.push(proxy.stop);
    log("neon-proxy", `listening on port ${proxy.port}`);

    const http = await startNeonHttp({ rttMs });
    stops.push(http.stop);
    log("neon-http", `listening on port ${http.port}`);

    const redis = await startRedis({ dir: opts.redisDir });
    stops.push(redis.stop);
    log("redis", `listening on port ${redis.port}`);

    const upstashToken = randomBytes(24).toString("base64url");
    const upstash = await startUpstashAdapter({ redisUrl: redis.url, token: upstashToken, rttMs });
    stops.push(upstash.stop);
    log("upstash", `listening on ${upstash.url}`);

    return {
      databaseUrl: db.appUrl,
      adminDatabaseUrl: db.adminUrl,
      serverUrl: postgres.adminUrl,
      redisUrl: redis.url,
      upstashUrl: upstash.url,
      upstashToken,
      neonProxy: `127.0.0.1:${proxy.port}`,
      neonHttp: `http://127.0.0.1:${http.port}/sql`,
      stats: {
        proxy: proxy.stats,
        http: http.stats,
        upstash: upstash.stats,
        reset: () => {
          proxy.stats.reset();
          http.stats.reset();
          upstash.stats.reset();
        },
      },
      seeded,
      restartPostgres: async (during) => {
        await postgres.crash();
        await during?.();
        postgres = await startPostgres({
          dataDir: opts.dataDir,
          port: postgres.port,
          persistent: opts.persistent,
          reuse: true,
        });
      },
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
