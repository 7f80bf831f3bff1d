import { chmod, mkdtemp, rm } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client, neonConfig, Pool } from "@neondatabase/serverless";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { type NeonWsProxy, startNeonWsProxy } from "../neon-ws-proxy";
import { type PostgresService, startPostgres } from "../servers/postgres";

let root: string;
let postgres: PostgresService;
let proxy: NeonWsProxy;
let pool: Pool;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "tenantry-ws-proxy-"));
  await chmod(root, 0o755);
  postgres = await startPostgres({ dataDir: join(root, "pg") });
  proxy = await startNeonWsProxy();
  neonConfig.webSocketConstructor = WebSocket;
  neonConfig.wsProxy = (host, port) => `127.0.0.1:${proxy.port}/v1?address=${host}:${port}`;
  neonConfig.useSecureWebSocket = false;
  neonConfig.pipelineTLS = false;
  neonConfig.pipelineConnect = false;
  pool = new Pool({ connectionString: postgres.adminUrl });
  pool.on("error", () => {});
});

afterAll(async () => {
  await pool?.end();
  await proxy?.stop();
  await postgres?.stop();
  await rm(root, { recursive: true, force: true });
});

describe("neon WebSocket proxy", () => {
  it("carries the real driver's queries to Postgres", async () => {
    const { rows } = await pool.query("select $1::int * 2 as doubled, current_user as who", [21]);
    expect(rows).toEqual([{ doubled: 42, who: "postgres" }]);
    expect(proxy.stats.connections).toBeGreaterThanOrEqual(1);
  });

  it("carries a transaction: rolled-back writes vanish, committed ones stay", async () => {
    await pool.query("create table notes (body text not null)");
    const client = await pool.connect();
    try {
      await client.query("begin");
      await client.query("insert into notes values ('discarded')");
      await client.query("rollback");
      await client.query("begin");
      await client.query("insert into notes values ($1)", ["kept"]);
      await client.query("commit");
    } finally {
      client.release();
    }
    const { rows } = await pool.query("select body from notes");
    expect(rows).toEqual([{ body: "kept" }]);
  });

  it("counts connections and query round trips", async () => {
    const client = new Client(postgres.adminUrl);
    proxy.stats.reset();
    await client.connect();
    await client.query("select 1");
    await client.query("select $1::text", ["extended protocol"]);
    await client.end();
    expect(proxy.stats.connections).toBe(1);
    expect(proxy.stats.roundTrips).toBe(2);
  });

  it("refuses to relay to a non-loopback address", async () => {
    proxy.stats.reset();
    const client = new Client("postgres://postgres:postgres@10.1.2.3:5432/postgres");
    client.on("error", () => {});
    // The driver rejects with the WebSocket's ErrorEvent, not an Error.
    await expect(client.connect()).rejects.toMatchObject({ message: "Unexpected server response: 403" });

    const response = await new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${proxy.port}/v1?address=example.com:5432`);
      ws.on("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0));
      ws.on("open", () => reject(new Error("the proxy accepted a non-loopback address")));
      ws.on("error", reject);
    });
    expect(response).toBe(403);
    expect(proxy.stats.connections).toBe(0);
  });

  it("answers a malformed upgrade URL with 403 and keeps serving", async () => {
    const reply = await new Promise<string>((resolve, reject) => {
      const socket = connect(proxy.port, "127.0.0.1", () => {
        socket.write(
          "GET //: HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        );
      });
      let data = "";
      socket.on("data", (chunk) => {
        data += chunk;
      });
      socket.on("end", () => resolve(data));
      socket.on("error", reject);
    });
    expect(reply).toMatch(/^HTTP\/1.1 403 Forbidden/);
    expect((await pool.query("select 'still up' as status")).rows).toEqual([{ status: "still up" }]);
  });
});

describe("neon WebSocket proxy with simulated distance (rttMs)", () => {
  const RTT = 100;
  let distant: NeonWsProxy;

  beforeAll(async () => {
    distant = await startNeonWsProxy({ rttMs: RTT });
  });

  afterAll(async () => {
    await distant?.stop();
  });

  function distantClient(): Client {
    const client = new Client(postgres.adminUrl);
    client.neonConfig.wsProxy = (host, port) => `127.0.0.1:${distant.port}/v1?address=${host}:${port}`;
    return client;
  }

  it("adds at least one RTT to each query round trip", async () => {
    const client = distantClient();
    await client.connect();
    try {
      for (const n of [1, 2, 3]) {
        const started = performance.now();
        const { rows } = await client.query("select $1::int as n", [n]);
        expect(rows).toEqual([{ n }]);
        expect(performance.now() - started).toBeGreaterThanOrEqual(RTT);
      }
    } finally {
      await client.end();
    }
  });

  it("makes N sequential queries take at least N RTTs, and connecting at least one", async () => {
    const client = distantClient();
    distant.stats.reset();
    const started = performance.now();
    await client.connect();
    const connected = performance.now();
    try {
      for (let i = 0; i < 4; i++) await client.query("select 1");
      expect(connected - started).toBeGreaterThanOrEqual(RTT);
      expect(performance.now() - connected).toBeGreaterThanOrEqual(4 * RTT);
      expect(distant.stats.roundTrips).toBe(4);
    } finally {
      await client.end();
    }
  });

  it("delivers a transaction intact and in order", async () => {
    const client = distantClient();
    await client.connect();
    try {
      await client.query("create table far_notes (n int not null)");
      await client.query("begin");
      for (const n of [1, 2, 3]) await client.query("insert into far_notes values ($1)", [n]);
      await client.query("commit");
      const { rows } = await client.query("select n from far_notes order by n");
      expect(rows).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
    } finally {
      await client.end();
    }
  });
});
