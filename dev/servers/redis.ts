/**
 * Starts a private redis-server (the stand-in for Upstash's storage) on its own port, so
 * dev and tests never touch the machine's shared Redis on 6379. `REDIS_URL` overrides it
 * for setups that already run one.
 */

import { spawn } from "node:child_process";
import { mkdir } from "node:fs/promises";
import { connect } from "node:net";
import { freePort } from "../free-port";
import { stopChild } from "./child-process";

export interface RedisService {
  url: string;
  port: number;
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;
const INSTALL_HINT = "redis-server was not found on PATH; install it with `apt-get install -y redis-server`";

export async function startRedis(opts: { port?: number; dir?: string } = {}): Promise<RedisService> {
  const external = process.env.REDIS_URL;
  if (external) {
    return { url: external, port: Number(new URL(external).port || 6379), stop: async () => {} };
  }

  const port = opts.port ?? (await freePort());
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--loglevel", "warning"];
  if (opts.dir) {
    await mkdir(opts.dir, { recursive: true });
    args.push("--dir", opts.dir, "--appendonly", "yes", "--save", "");
  } else {
    args.push("--save", "", "--appendonly", "no");
  }

  const child = spawn("redis-server", args, { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString("utf8")).slice(-4096);
    if (process.env.DEBUG) process.stderr.write(`[redis] ${chunk}`);
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  const exited = new Promise<Error>((resolve) => {
    child.once("error", (err: NodeJS.ErrnoException) => {
      resolve(err.code === "ENOENT" ? new Error(INSTALL_HINT) : err);
    });
    child.once("exit", (code, signal) => {
      resolve(new Error(`redis-server exited early (code ${code}, signal ${signal}): ${output.trim()}`));
    });
  });

  try {
    await Promise.race([waitForPong(port), exited.then((err) => Promise.reject(err))]);
  } catch (err) {
    await stopChild(child, STOP_TIMEOUT_MS);
    throw err;
  }
  return { url: `redis://127.0.0.1:${port}`, port, stop: () => stopChild(child, STOP_TIMEOUT_MS) };
}

async function waitForPong(port: number): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!(await ping(port))) {
    if (Date.now() > deadline) throw new Error(`redis-server did not answer PING on port ${port}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A raw RESP PING, so readiness does not depend on a client library's reconnect logic. */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once("error", () => done(false));
    socket.once("connect", () => socket.write("PING\r\n"));
    socket.once("data", (data) => done(data.toString().startsWith("+PONG")));
  });
}
