/**
 * Emulates Neon's SQL-over-HTTP endpoint (`POST /sql`) on top of a real Postgres, so the
 * Worker's `neon()` / `sql.transaction()` / drizzle `neon-http` path runs locally with the
 * real driver: one HTTP round trip per query or transaction, as in production.
 */

import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import pg from "pg";
import { closeServer, HttpError, listen, readJsonBody, sendJson } from "./http-server";
import { delayUntil } from "./sim-rtt";
import { createStats, type Stats } from "./stats";

export interface NeonHttp {
  port: number;
  stats: Stats<"requests" | "queries">;
  stop(): Promise<void>;
}

interface Query {
  query: string;
  params: unknown[];
}

const ISOLATION_LEVELS: Record<string, string> = {
  ReadUncommitted: "READ UNCOMMITTED",
  ReadCommitted: "READ COMMITTED",
  RepeatableRead: "REPEATABLE READ",
  Serializable: "SERIALIZABLE",
};

/** Postgres error fields Neon copies into its 400 answer (the driver reads them back). */
const ERROR_FIELDS = [
  "severity",
  "code",
  "detail",
  "hint",
  "position",
  "internalPosition",
  "internalQuery",
  "where",
  "schema",
  "table",
  "column",
  "dataType",
  "constraint",
  "file",
  "line",
  "routine",
] as const;

// Neon answers every value as text and the driver parses it, so pg must not parse anything.
const rawText = { getTypeParser: () => (value: string) => value };

export async function startNeonHttp(opts: { port?: number; rttMs?: number } = {}): Promise<NeonHttp> {
  const rttMs = opts.rttMs ?? 0;
  const stats = createStats("requests", "queries");
  const pools = new Map<string, pg.Pool>();

  const poolFor = (connectionString: string): pg.Pool => {
    let pool = pools.get(connectionString);
    if (!pool) {
      pool = new pg.Pool({ connectionString: withoutTlsParams(connectionString), max: 5, types: rawText });
      // An idle client dropped by the server must not crash the emulator.
      pool.on("error", () => {});
      pools.set(connectionString, pool);
    }
    return pool;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    stats.requests++;
    // Simulated distance: the whole trip is spent before the work, so no Postgres connection
    // or lock is held longer than in production, where the database sits next to Neon's proxy.
    if (rttMs > 0) await delayUntil(performance.now() + rttMs);
    if (req.method !== "POST" || new URL(req.url ?? "/", "http://localhost").pathname !== "/sql") {
      throw new HttpError(404, "expected POST /sql");
    }
    const connectionString = header(req, "neon-connection-string");
    if (!connectionString) throw new HttpError(400, "missing Neon-Connection-String header");
    const arrayMode = header(req, "neon-array-mode") === "true";
    const body = await readJsonBody(req);
    const client = await poolFor(connectionString).connect();
    let broken: Error | undefined;
    // A connection that dies while checked out (Postgres crashed or restarted) reports it on
    // the client, not the pool: without a listener that event would crash the process. The
    // query in flight fails on its own; the client is then discarded, never reused.
    const onError = (err: Error) => {
      broken = err;
    };
    client.on("error", onError);
    try {
      const run = (q: Query) => {
        stats.queries++;
        return runQuery(client, q, arrayMode);
      };
      if (isRecord(body) && Array.isArray(body.queries)) {
        const queries = body.queries.map(parseQuery);
        await client.query(beginStatement(req));
        try {
          const results = [];
          for (const q of queries) results.push(await run(q));
          await client.query("COMMIT");
          sendJson(res, 200, { results });
        } catch (err) {
          await client.query("ROLLBACK").catch((rollbackErr: Error) => {
            broken = rollbackErr;
          });
          throw err;
        }
      } else {
        sendJson(res, 200, await run(parseQuery(body)));
      }
    } finally {
      // A client whose rollback failed may be mid-transaction: discard it, never reuse it.
      client.off("error", onError);
      client.release(broken);
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => answerError(res, err));
  });
  const port = await listen(server, opts.port);

  return {
    port,
    stats,
    async stop() {
      await closeServer(server);
      await Promise.all([...pools.values()].map((pool) => pool.end()));
      pools.clear();
    },
  };
}

async function runQuery(client: pg.PoolClient, { query, params }: Query, arrayMode: boolean) {
  // Extended protocol, like Neon: one statement per query, parameters never spliced into SQL.
  const result = await client.query({
    text: query,
    values: params,
    queryMode: "extended",
    rowMode: arrayMode ? "array" : undefined,
  } as pg.QueryConfig);
  return {
    fields: result.fields,
    command: result.command,
    rowCount: result.rowCount,
    rows: result.rows,
    rowAsArray: arrayMode,
  };
}

function beginStatement(req: IncomingMessage): string {
  const parts = ["BEGIN"];
  const isolation = header(req, "neon-batch-isolation-level");
  if (isolation) {
    const level = ISOLATION_LEVELS[isolation];
    if (!level) throw new HttpError(400, `invalid Neon-Batch-Isolation-Level: ${isolation}`);
    parts.push(`ISOLATION LEVEL ${level}`);
  }
  if (header(req, "neon-batch-read-only") === "true") parts.push("READ ONLY");
  if (header(req, "neon-batch-deferrable") === "true") parts.push("DEFERRABLE");
  return parts.join(" ");
}

function parseQuery(value: unknown): Query {
  if (!isRecord(value) || typeof value.query !== "string") {
    throw new HttpError(400, "expected {query, params} or {queries: [{query, params}, …]}");
  }
  const params = value.params ?? [];
  if (!Array.isArray(params)) throw new HttpError(400, "params must be an array");
  return { query: value.query, params };
}

function answerError(res: ServerResponse, err: unknown): void {
  if (err instanceof HttpError) {
    sendJson(res, err.status, { message: err.message });
  } else if (err instanceof pg.DatabaseError) {
    const fields = Object.fromEntries(ERROR_FIELDS.map((field) => [field, err[field]]));
    sendJson(res, 400, { message: err.message, ...fields });
  } else {
    // Connection failures and the like: the driver reports any non-400 as a server error.
    sendJson(res, 500, { message: err instanceof Error ? err.message : String(err) });
  }
}

/** Neon terminates TLS itself; the local Postgres speaks plain TCP on loopback. */
function withoutTlsParams(connectionString: string): string {
  if (!URL.canParse(connectionString)) throw new HttpError(400, "Neon-Connection-String is not a valid URL");
  const url = new URL(connectionString);
  for (const param of ["sslmode", "sslrootcert", "channel_binding"]) url.searchParams.delete(param);
  return url.toString();
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
