import { chmod, mkdtemp, rm } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client, neonConfig, Pool } from "@neondatabase/serverless";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { type NeonWsProxy, startNeonWsProxy } from "../neon-ws-proxy";
import { type PostgresService, startPostgres } from "../services/postgres";

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
