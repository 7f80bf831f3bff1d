import { existsSync } from "node:fs";
import { chmod, mkdtemp, readFile, rm } from "node:fs/promises";
import { type AddressInfo, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import pg from "pg";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { freePort } from "../free-port";
import { startPostgres } from "../servers/postgres";
import { startRedis } from "../servers/redis";
import { canListen, processesMatching } from "./helpers";

let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "tenantry-services-"));
  // mkdtemp makes it 0700; as root, Postgres runs as `postgres` and must walk through it.
  await chmod(root, 0o755);
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

// The helpers must start their own servers here, whatever the caller's environment says.
beforeEach(() => {
  vi.stubEnv("DATABASE_URL", undefined);
  vi.stubEnv("REDIS_URL", undefined);
  return () => vi.unstubAllEnvs();
});

async function query(url: string, text: string): Promise<unknown[]> {
  const client = new pg.Client(url);
  await client.connect();
  try {
    return (await client.query(text)).rows;
  } finally {
    await client.end();
  }
}

describe("freePort", () => {
  it("returns a loopback port nobody listens on", async () => {
    const port = await freePort();
    expect(port).toBeGreaterThan(0);
    expect(await canListen(port)).toBe(true);
  });
});

describe("startPostgres", () => {
  it("starts a throwaway cluster that answers, then stops it completely", async () => {
    const dataDir = join(root, "pg-throwaway");
    const pgServer = await startPostgres({ dataDir });
    const pid = Number((await readFile(join(dataDir, "postmaster.pid"), "utf8")).split("\n")[0]);

    expect(await query(pgServer.adminUrl, "select 41 + 1 as answer")).toEqual([{ answer: 42 }]);
    expect(await processesMatching(dataDir)).not.toEqual([]);

    await pgServer.stop();
    expect(() => process.kill(pid, 0)).toThrow();
    expect(await processesMatching(dataDir)).toEqual([]);
    expect(await canListen(pgServer.port)).toBe(true);
    expect(existsSync(dataDir)).toBe(false);
  });

  it("keeps and reuses a persistent cluster's data across restarts", async () => {
    const dataDir = join(root, "pg-persistent");
    const first = await startPostgres({ dataDir, persistent: true });
    await query(first.adminUrl, "create table kept (v text); insert into kept values ('still here')");
    await first.stop();
    expect(existsSync(join(dataDir, "PG_VERSION"))).toBe(true);

    const second = await startPostgres({ dataDir, persistent: true });
    try {
      expect(await query(second.adminUrl, "select v from kept")).toEqual([{ v: "still here" }]);
    } finally {
      await second.stop();
    }
    expect(await processesMatching(dataDir)).toEqual([]);
  });

  it("fails clearly, leaving nothing behind, when its port is taken", async () => {
    const dataDir = join(root, "pg-port-taken");
    const blocker = createServer();
    const port = await new Promise<number>((resolve) => {
      blocker.listen(0, "127.0.0.1", () => resolve((blocker.address() as AddressInfo).port));
    });
    try {
      await expect(startPostgres({ dataDir, port })).rejects.toThrow(
        `postgres failed to start on port ${port}`,
      );
    } finally {
      blocker.close();
    }
    expect(await processesMatching(dataDir)).toEqual([]);
    expect(existsSync(dataDir)).toBe(false);
  });

  it("uses DATABASE_URL instead of starting a server when it is set", async () => {
    vi.stubEnv("DATABASE_URL", "postgres://someone:secret@127.0.0.1:6543/app");
    const dataDir = join(root, "pg-external");
    const pgServer = await startPostgres({ dataDir });
    expect(pgServer).toMatchObject({ adminUrl: "postgres://someone:secret@127.0.0.1:6543/app", port: 6543 });
    expect(existsSync(dataDir)).toBe(false);
    await pgServer.stop();
  });
});

describe("startRedis", () => {
  it("starts a private redis-server that answers, then stops it completely", async () => {
    const redisServer = await startRedis();
    const client = new Redis(redisServer.url);
    await client.set("greeting", "hello");
    expect(await client.get("greeting")).toBe("hello");
    expect(await processesMatching(`redis-server 127.0.0.1:${redisServer.port}`)).toHaveLength(1);
    client.disconnect();

    await redisServer.stop();
    expect(await processesMatching(`redis-server 127.0.0.1:${redisServer.port}`)).toEqual([]);
    expect(await canListen(redisServer.port)).toBe(true);
  });

  it("persists data in its dir across restarts when given one", async () => {
    const dir = join(root, "redis-data");
    const first = await startRedis({ dir });
    const writer = new Redis(first.url);
    await writer.set("durable", "yes");
    writer.disconnect();
    await first.stop();

    const second = await startRedis({ dir });
    const reader = new Redis(second.url);
    try {
      expect(await reader.get("durable")).toBe("yes");
    } finally {
      reader.disconnect();
      await second.stop();
    }
  });

  it("names the install command when redis-server is not on PATH", async () => {
    vi.stubEnv("PATH", join(root, "empty-bin"));
    await expect(startRedis()).rejects.toThrow("apt-get install -y redis-server");
  });

  it("uses REDIS_URL instead of starting a server when it is set", async () => {
    vi.stubEnv("REDIS_URL", "redis://127.0.0.1:7777");
    vi.stubEnv("PATH", join(root, "empty-bin"));
    const redisServer = await startRedis();
    expect(redisServer).toMatchObject({ url: "redis://127.0.0.1:7777", port: 7777 });
    await redisServer.stop();
  });
});
