import { chmod, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NeonDbError, neon, neonConfig } from "@neondatabase/serverless";
import { drizzle } from "drizzle-orm/neon-http";
import { integer, pgTable, text } from "drizzle-orm/pg-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type NeonHttp, startNeonHttp } from "../neon-http";
import { type PostgresService, startPostgres } from "../servers/postgres";

const plans = pgTable("plans", { id: integer("id").primaryKey(), name: text("name").notNull() });

let root: string;
let postgres: PostgresService;
let emulator: NeonHttp;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "tenantry-neon-http-"));
  await chmod(root, 0o755);
  postgres = await startPostgres({ dataDir: join(root, "pg") });
  emulator = await startNeonHttp();
  neonConfig.fetchEndpoint = () => `http://127.0.0.1:${emulator.port}/sql`;
  await neon(postgres.adminUrl)`create table plans (id int primary key, name text not null unique)`;
});

afterAll(async () => {
  await emulator?.stop();
  await postgres?.stop();
  await rm(root, { recursive: true, force: true });
});

function postSql(
  body: unknown,
  headers: Record<string, string> = {},
  port = emulator.port,
): Promise<Response> {
  return fetch(`http://127.0.0.1:${port}/sql`, {
    method: "POST",
    headers: { "neon-connection-string": postgres.adminUrl, ...headers },
    body: JSON.stringify(body),
  });
}

describe("neon() over the SQL-over-HTTP emulator", () => {
  const sql = () => neon(postgres.adminUrl);

  it("runs select 1", async () => {
    expect(await sql()`select 1 as one`).toEqual([{ one: 1 }]);
  });

  it("binds parameters and lets the driver parse the text values", async () => {
    const rows = await sql()`select ${20}::int + 1 as n, ${"héllo"}::text as s, ${null}::text as nothing,
      '2024-02-29T12:00:00Z'::timestamptz as at, true as yes`;
    expect(rows).toEqual([
      { n: 21, s: "héllo", nothing: null, at: new Date("2024-02-29T12:00:00Z"), yes: true },
    ]);
  });

  it("answers full results in Neon's shape", async () => {
    const result = await sql().query("select $1::int as n", [7], { fullResults: true, arrayMode: true });
    expect(result).toMatchObject({ command: "SELECT", rowCount: 1, rows: [[7]], rowAsArray: true });
    expect(result.fields[0]).toMatchObject({ name: "n", dataTypeID: 23, format: "text" });
  });

  it("runs a transaction in one request, with the requested isolation and access mode", async () => {
    emulator.stats.reset();
    const db = sql();
    const [isolation, readOnly] = await db.transaction(
      [db`show transaction_isolation`, db`show transaction_read_only`],
      { isolationLevel: "Serializable", readOnly: true },
    );
    expect(isolation).toEqual([{ transaction_isolation: "serializable" }]);
    expect(readOnly).toEqual([{ transaction_read_only: "on" }]);
    expect({ requests: emulator.stats.requests, queries: emulator.stats.queries }).toEqual({
      requests: 1,
      queries: 2,
    });
  });

  it("rolls a failed transaction back", async () => {
    const db = sql();
    await expect(
      db.transaction([db`insert into plans values (100, 'half-done')`, db`select 1 / 0`]),
    ).rejects.toMatchObject({ code: "22012" });
    expect(await db`select count(*)::int as n from plans where id = 100`).toEqual([{ n: 0 }]);
  });

  it("surfaces Postgres errors as NeonDbError with their fields", async () => {
    const db = sql();
    await db`insert into plans values (1, 'free')`;
    const failure = await db`insert into plans values (2, 'free')`.catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(NeonDbError);
    expect(failure).toMatchObject({
      code: "23505",
      constraint: "plans_name_key",
      table: "plans",
      severity: "ERROR",
      detail: "Key (name)=(free) already exists.",
    });
  });

  it("runs a drizzle neon-http batch of two queries in one request", async () => {
    const db = drizzle({ client: sql() });
    emulator.stats.reset();
    const [inserted, all] = await db.batch([
      db.insert(plans).values({ id: 10, name: "team" }).returning(),
      db.select().from(plans).orderBy(plans.id),
    ]);
    expect(inserted).toEqual([{ id: 10, name: "team" }]);
    expect(all).toEqual([
      { id: 1, name: "free" },
      { id: 10, name: "team" },
    ]);
    expect({ requests: emulator.stats.requests, queries: emulator.stats.queries }).toEqual({
      requests: 1,
      queries: 2,
    });
  });
});

describe("SQL-over-HTTP protocol details", () => {
  it("answers rows as objects of text when array mode is off", async () => {
    const response = await postSql({ query: "select $1::int as n, null::text as t", params: ["5"] });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ rows: [{ n: "5", t: null }], rowAsArray: false });
  });

  it("uses the extended protocol, so one query holds one statement", async () => {
    const response = await postSql({ query: "select 1; select 2", params: [] });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ code: "42601" });
  });

  it("rejects requests without a connection string", async () => {
    const response = await fetch(`http://127.0.0.1:${emulator.port}/sql`, {
      method: "POST",
      body: JSON.stringify({ query: "select 1", params: [] }),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ message: "missing Neon-Connection-String header" });
  });
});

describe("simulated distance (rttMs)", () => {
  const RTT = 100;

  async function timedQuery(port: number): Promise<number> {
    const started = performance.now();
    const response = await postSql({ query: "select 1 as one", params: [] }, {}, port);
    expect(await response.json()).toMatchObject({ rows: [{ one: "1" }] });
    return performance.now() - started;
  }

  it("makes one query take at least one RTT", async () => {
    const distant = await startNeonHttp({ rttMs: RTT });
    try {
      expect(await timedQuery(distant.port)).toBeGreaterThanOrEqual(RTT);
    } finally {
      await distant.stop();
    }
  });

  it("makes N sequential queries take at least N RTTs", async () => {
    const distant = await startNeonHttp({ rttMs: RTT });
    try {
      const started = performance.now();
      for (let i = 0; i < 3; i++) await timedQuery(distant.port);
      expect(performance.now() - started).toBeGreaterThanOrEqual(3 * RTT);
      expect(distant.stats.requests).toBe(3);
    } finally {
      await distant.stop();
    }
  });

  it("delays a refused request too: every answer is a round trip", async () => {
    const distant = await startNeonHttp({ rttMs: RTT });
    try {
      const started = performance.now();
      const response = await fetch(`http://127.0.0.1:${distant.port}/sql`, { method: "POST", body: "{}" });
      expect(response.status).toBe(400);
      expect(performance.now() - started).toBeGreaterThanOrEqual(RTT);
    } finally {
      await distant.stop();
    }
  });
});
