/**
 * Postgres access, and the one place that chooses how a query travels. Every query is pinned
 * to one tenant's RLS or runs in an explicit system scope; there is deliberately no third way.
 *
 * - Request path: SQL-over-HTTP only. A read is one batch (`batchAsTenant`, `batchAsSystem`,
 *   `readAsSystem`), a write is one `WriteBatch` (./write-batch.ts): one round trip each, and
 *   no connection held open.
 * - Off the request path (queue consumer, crons): the WebSocket `Pool` of `openDatabase`, for
 *   interactive transactions (`withTenant`, `withSystem`) whose next statement depends on
 *   the last one's answer, opened on first use.
 *
 * Both are per database (connection string), never global, so a tenant whose tables live in
 * a database of their own gets handles of its own, and each write stays in one database.
 */
import { DatabaseError, neon, neonConfig, Pool } from "@neondatabase/serverless";
import { type SQL, sql } from "drizzle-orm";
import type { BatchItem, BatchResponse } from "drizzle-orm/batch";
import { drizzle as drizzleHttp, type NeonHttpDatabase } from "drizzle-orm/neon-http";
import { drizzle, type NeonDatabase } from "drizzle-orm/neon-serverless";
import type { PgDatabase } from "drizzle-orm/pg-core";
import type { Config } from "../env";
import { Problem } from "../lib/problem";
import * as schema from "./schema";

export type Database = NeonDatabase<typeof schema>;
/** Anything queries can be built on: a Pool transaction or the HTTP database (for batches). */
// biome-ignore lint/suspicious/noExplicitAny: the query-result HKT differs between the two drivers
export type Queryable = PgDatabase<any, typeof schema>;
/** Neon's SQL-over-HTTP: one round trip per batch, for reads that need no interactive transaction. */
export type HttpDatabase = NeonHttpDatabase<typeof schema>;
export type Tx = Parameters<Parameters<Database["transaction"]>[0]>[0];

const CONNECT_TIMEOUT_MS = 5_000;

let localProxyConfigured: string | undefined;
let localHttpConfigured: string | undefined;

/**
 * Points the driver at the local stand-ins (WebSocket proxy, SQL-over-HTTP emulator); only
 * ever set by the local stack, never in production.
 */
export function configureDriver(config: Pick<Config, "NEON_LOCAL_PROXY" | "NEON_LOCAL_HTTP">): void {
  const proxy = config.NEON_LOCAL_PROXY;
  if (proxy && proxy !== localProxyConfigured) {
    neonConfig.wsProxy = (host, port) => `${proxy}/v1?address=${host}:${port}`;
    neonConfig.useSecureWebSocket = false;
    neonConfig.pipelineTLS = false;
    neonConfig.pipelineConnect = false;
    localProxyConfigured = proxy;
  }
  const endpoint = config.NEON_LOCAL_HTTP;
  if (endpoint && endpoint !== localHttpConfigured) {
    neonConfig.fetchEndpoint = () => endpoint;
    localHttpConfigured = endpoint;
  }
}

/** The SQL-over-HTTP driver of one database: what every request uses. It holds no socket. */
export function openHttp(config: Config, connectionString = config.DATABASE_URL): HttpDatabase {
  configureDriver(config);
  return drizzleHttp({ client: neon(connectionString), schema });
}

export interface DatabaseHandle {
  /** A Pool for interactive transactions, opened on first use. */
  readonly db: Database;
  http: HttpDatabase;
  close(): Promise<void>;
}

/**
 * Both ways to one database, for work off the request path. The Pool belongs to one
 * invocation (Workers cannot share sockets between them) and is created only when used.
 */
export function openDatabase(config: Config, connectionString = config.DATABASE_URL): DatabaseHandle {
  const http = openHttp(config, connectionString);
  let pool: Pool | undefined;
  let db: Database | undefined;
  return {
    http,
    get db() {
      if (!db) {
        pool = new Pool({ connectionString, connectionTimeoutMillis: CONNECT_TIMEOUT_MS, max: 4 });
        // An idle client that loses its socket after the work must not crash the isolate.
        pool.on("error", () => {});
        db = drizzle({ client: pool, schema });
      }
      return db;
    },
    close: async () => {
      await pool?.end().catch(() => {});
    },
  };
}

/** `tenantId` is a uuid, or SQL that yields one as text (a lookup inside the same batch). */
export const tenantSetting = (tenantId: string | SQL) =>
  sql`select set_config('app.tenant_id', ${tenantId}, true)`;
export const systemSetting = sql`select set_config('app.scope', 'system', true)`;

type Queries = [BatchItem<"pg">, ...BatchItem<"pg">[]];

/**
 * One statement pinned to one tenant in ONE round trip: the RLS setting and the statement
 * travel in the same HTTP batch (a transaction on Neon's side). Writes are a `WriteBatch`.
 */
export async function batchAsTenant<Q extends BatchItem<"pg">>(
  http: HttpDatabase,
  tenantId: string,
  query: (db: HttpDatabase) => Q,
): Promise<BatchResponse<[Q]>[0]> {
  const [result] = await readWith(http, [tenantSetting(tenantId)], (db): [Q] => [query(db)]);
  return result;
}

/** `batchAsTenant` for explicit cross-tenant reads (tenant lookup, membership checks). */
export async function batchAsSystem<Q extends BatchItem<"pg">>(
  http: HttpDatabase,
  query: (db: HttpDatabase) => Q,
): Promise<BatchResponse<[Q]>[0]> {
  const [result] = await readWith(http, [systemSetting], (db): [Q] => [query(db)]);
  return result;
}

/**
 * Reads for a tenant the caller knows only by something the database must look up (an API
 * key's slug): `tenantId` is SQL run in system scope, yielding the uuid as text; the queries
 * then run under that tenant's RLS (tables with a system-scope policy, such as `tenants`,
 * stay readable). Still one round trip, and the same statements whatever the lookup finds.
 */
export function batchAsLookedUpTenant<Q extends Queries>(
  http: HttpDatabase,
  tenantId: SQL,
  queries: (db: HttpDatabase) => Q,
): Promise<BatchResponse<Q>> {
  return readWith(http, [systemSetting, tenantSetting(tenantId)], queries);
}

/** Several reads pinned to one tenant, in ONE round trip; their results in order. */
export function readAsTenant<Q extends Queries>(
  http: HttpDatabase,
  tenantId: string,
  queries: (db: HttpDatabase) => Q,
): Promise<BatchResponse<Q>> {
  return readWith(http, [tenantSetting(tenantId)], queries);
}

/** Several reads in system scope, in ONE round trip; their results in order. */
export function readAsSystem<Q extends Queries>(
  http: HttpDatabase,
  queries: (db: HttpDatabase) => Q,
): Promise<BatchResponse<Q>> {
  return readWith(http, [systemSetting], queries);
}

/** The settings, then the queries, in one batch; the queries' results. */
async function readWith<Q extends Queries>(
  http: HttpDatabase,
  settings: SQL[],
  queries: (db: HttpDatabase) => Q,
): Promise<BatchResponse<Q>> {
  const statements: Queries = [...queries(http)];
  statements.unshift(...settings.map((setting) => http.execute(setting)));
  const results = await guard(() => http.batch(statements));
  return results.slice(settings.length) as BatchResponse<Q>;
}

/** Runs `fn` in one transaction whose row-level security is pinned to `tenantId`. */
export function withTenant<T>(db: Database, tenantId: string, fn: (tx: Tx) => Promise<T>): Promise<T> {
  return guard(() =>
    db.transaction(async (tx) => {
      await tx.execute(tenantSetting(tenantId));
      // `return await`: a callback that fails before its first query must be handled in this
      // tick, or workerd reports the rejection as unhandled.
      return await fn(tx);
    }),
  );
}

/** Cross-tenant work (system admin listings, login, purge): explicit, never the default. */
export function withSystem<T>(db: Database, fn: (tx: Tx) => Promise<T>): Promise<T> {
  return guard(() =>
    db.transaction(async (tx) => {
      await tx.execute(systemSetting);
      return await fn(tx);
    }),
  );
}

/** Turns "Postgres is unreachable" into 503 `dependency_unavailable`; anything else passes. */
function guard<T>(run: () => Promise<T>): Promise<T> {
  return runGuarded(run, () => undefined);
}

/** `guard`, with `translate` turning the errors it knows (a write guard's problem) into others. */
export async function runGuarded<T>(
  run: () => Promise<T>,
  translate: (err: unknown) => Error | undefined,
): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (isUnavailable(err)) throw new Problem("dependency_unavailable", "The database is unavailable.");
    throw translate(err) ?? err;
  }
}

const UNAVAILABLE_SQLSTATE = /^(08|53|57P)/;

export function isUnavailable(err: unknown): boolean {
  if (err instanceof Problem) return false;
  // A SQL-over-HTTP failure that never reached Postgres (the endpoint could not connect)
  // is a NeonDbError without a SQLSTATE: only its message says what happened.
  const code = findPgError(err)?.code;
  if (code) return UNAVAILABLE_SQLSTATE.test(code);
  return CONNECTION_FAILURE.test(describe(err));
}

/** What the driver says when the socket, the proxy or the connect timeout fails. */
const CONNECTION_FAILURE =
  /connection (terminated|lost|refused|timeout|error)|timeout exceeded|ECONNREFUSED|ECONNRESET|websocket|network|socket|could not connect/i;

function describe(err: unknown): string {
  if (err instanceof Error) return `${err.message} ${err.cause ? describe(err.cause) : ""}`;
  if (typeof err === "object" && err !== null) {
    // A WebSocket failure surfaces as an ErrorEvent-like object, not an Error.
    const { type, message } = err as { type?: unknown; message?: unknown };
    return `${String(type ?? "")} ${String(message ?? "")} websocket`;
  }
  return String(err);
}

/** Drizzle wraps driver errors (`DrizzleQueryError.cause`); find the Postgres one inside. */
export function findPgError(err: unknown): DatabaseError | undefined {
  let current: unknown = err;
  for (let depth = 0; depth < 4 && current; depth++) {
    if (current instanceof DatabaseError) return current;
    if (typeof current === "object" && current !== null && "code" in current && "severity" in current) {
      return current as DatabaseError;
    }
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}
