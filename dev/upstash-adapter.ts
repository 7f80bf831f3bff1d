/**
 * Local stand-in for Upstash's REST endpoint. The Worker keeps the real `@upstash/redis`
 * and `@upstash/ratelimit` clients; this speaks their HTTP protocol in front of a plain
 * redis-server, papering over the few places where Upstash differs from Redis
 * (see LOCAL-STACK.md, "Redis + Upstash REST").
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { Redis } from "ioredis";
import { closeServer, HttpError, listen, readJsonBody, sendJson } from "./http-server";
import { delayUntil } from "./sim-rtt";
import { createStats, type Stats } from "./stats";

export interface UpstashAdapter {
  port: number;
  url: string;
  stats: Stats<"commands" | "requests">;
  stop(): Promise<void>;
}

type Command = [name: string, ...args: (string | number)[]];
type Reply = { result: unknown } | { error: string };

/** Upstash accepts script flags Redis rejects (`allow-key-locking`), so scripts lose that line. */
const SCRIPT_FLAGS_LINE = /^#!lua flags=[^\n]*/;

export async function startUpstashAdapter(opts: {
  redisUrl: string;
  token: string;
  port?: number;
  /** Simulated distance: each HTTP request (one command, pipeline or transaction) waits this long. */
  rttMs?: number;
}): Promise<UpstashAdapter> {
  const rttMs = opts.rttMs ?? 0;
  // One retry: a dead Redis should turn into an error response quickly, as it does on Upstash.
  const redis = new Redis(opts.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  // Without a listener ioredis reports reconnect failures as unhandled errors and kills the process.
  redis.on("error", (err) => {
    if (process.env.DEBUG) console.error("[upstash-adapter] redis:", err.message);
  });
  await redis.connect();

  const scripts = new ScriptRewriter();
  const stats = createStats("commands", "requests");
  const expectedAuth = sha256(`Bearer ${opts.token}`);

  const runOne = async (command: Command): Promise<unknown> => {
    const [name, ...args] = scripts.rewrite(command);
    return scripts.restoreLoadedSha(command, normalise(name, await redis.call(name, ...args)));
  };

  const runBatch = async (commands: Command[], transaction: boolean): Promise<Reply[]> => {
    const batch = transaction ? redis.multi() : redis.pipeline();
    for (const command of commands) {
      const [name, ...args] = scripts.rewrite(command);
      batch.call(name, ...args);
    }
    const results = await batch.exec();
    if (!results) throw new HttpError(400, "EXECABORT transaction aborted");
    return results.map(([err, value], i) => {
      const command = commands[i] as Command;
      if (err) return { error: err.message };
      return { result: scripts.restoreLoadedSha(command, normalise(command[0], value)) };
    });
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    stats.requests++;
    if (rttMs > 0) await delayUntil(performance.now() + rttMs);
    if (req.method !== "POST") throw new HttpError(405, "only POST is supported");
    if (!timingSafeEqual(sha256(req.headers.authorization ?? ""), expectedAuth)) {
      throw new HttpError(401, "Unauthorized");
    }
    const body = await readJsonBody(req);
    const base64 = req.headers["upstash-encoding"] === "base64";
    const path = new URL(req.url ?? "/", "http://localhost").pathname.replace(/\/+$/, "");
    if (path === "") {
      const command = parseCommand(body);
      stats.commands++;
      sendJson(res, 200, { result: encode(await runOne(command), base64, true) });
      return;
    }
    if (path !== "/pipeline" && path !== "/multi-exec") throw new HttpError(404, `unknown path ${path}`);
    if (!Array.isArray(body) || body.length === 0)
      throw new HttpError(400, "ERR expected an array of commands");
    const commands = body.map(parseCommand);
    stats.commands += commands.length;
    const replies = await runBatch(commands, path === "/multi-exec");
    sendJson(
      res,
      200,
      replies.map((reply) => ("result" in reply ? { result: encode(reply.result, base64, true) } : reply)),
    );
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      const { status, message } = describeError(err);
      sendJson(res, status, { error: message });
    });
  });
  const port = await listen(server, opts.port);

  return {
    port,
    url: `http://127.0.0.1:${port}`,
    stats,
    async stop() {
      await closeServer(server);
      redis.disconnect();
    },
  };
}

/**
 * Keeps EVALSHA working across the flag stripping: clients hash the script they hold
 * (ratelimit ships precomputed hashes), but Redis only knows the stripped one.
 */
class ScriptRewriter {
  private readonly strippedSha = new Map<string, string>();
  private readonly originalSha = new Map<string, string>();

  rewrite(command: Command): Command {
    const [name, ...args] = command;
    const lower = name.toLowerCase();
    const sub = typeof args[0] === "string" ? args[0].toLowerCase() : "";
    if (lower === "eval" || lower === "eval_ro") return [name, this.strip(args[0]), ...args.slice(1)];
    if (lower === "script" && sub === "load") return [name, args[0] ?? "", this.strip(args[1])];
    if (lower === "evalsha" || lower === "evalsha_ro") return [name, this.mapSha(args[0]), ...args.slice(1)];
    if (lower === "script" && sub === "exists")
      return [name, args[0] ?? "", ...args.slice(1).map(this.mapSha)];
    return command;
  }

  /** SCRIPT LOAD answers the hash the client computed itself, as Upstash does. */
  restoreLoadedSha(command: Command, result: unknown): unknown {
    const isLoad = command[0].toLowerCase() === "script" && String(command[1]).toLowerCase() === "load";
    return isLoad && typeof result === "string" ? (this.originalSha.get(result) ?? result) : result;
  }

  private strip(script: string | number | undefined): string {
    const original = String(script ?? "");
    // Keep the newline so Lua error line numbers still match the client's script.
    const stripped = original.replace(SCRIPT_FLAGS_LINE, "");
    if (stripped !== original) {
      this.strippedSha.set(sha1(original), sha1(stripped));
      this.originalSha.set(sha1(stripped), sha1(original));
    }
    return stripped;
  }

  private readonly mapSha = (sha: string | number | undefined): string => {
    const value = String(sha ?? "").toLowerCase();
    // Unknown hashes pass through, so Redis answers NOSCRIPT and the client falls back to EVAL.
    return this.strippedSha.get(value) ?? value;
  };
}

function parseCommand(value: unknown): Command {
  if (!Array.isArray(value) || value.length === 0 || typeof value[0] !== "string") {
    throw new HttpError(400, "ERR a command must be a non-empty array starting with its name");
  }
  const [name, ...args] = value;
  return [
    name,
    ...args.map((arg: unknown) => {
      // The ratelimit reset script sends `[null]`; Upstash treats null as an empty string.
      if (arg === null) return "";
      if (typeof arg === "string" || typeof arg === "number") return arg;
      if (typeof arg === "boolean") return String(arg);
      throw new HttpError(400, `ERR unsupported argument type in ${name}`);
    }),
  ];
}

/** ioredis turns HGETALL into an object even through `call`; Upstash answers a flat array. */
function normalise(name: string, value: unknown): unknown {
  if (name.toLowerCase() === "hgetall" && value && typeof value === "object" && !Array.isArray(value)) {
    return Object.entries(value).flat();
  }
  return value;
}

/**
 * `Upstash-Encoding: base64` encodes every string; the client decodes a bare "OK" only at
 * the top level, so inside arrays it must be encoded like any other string.
 */
function encode(value: unknown, base64: boolean, topLevel: boolean): unknown {
  if (!base64) return value;
  if (typeof value === "string") {
    return topLevel && value === "OK" ? value : Buffer.from(value, "utf8").toString("base64");
  }
  if (Array.isArray(value)) return value.map((item) => encode(item, true, false));
  return value;
}

function describeError(err: unknown): { status: number; message: string } {
  if (err instanceof HttpError) return { status: err.status, message: err.message };
  const message = err instanceof Error ? err.message : String(err);
  // Redis refused the command (wrong type, NOSCRIPT, script error…): Upstash answers 400.
  if (err instanceof Error && err.name === "ReplyError") return { status: 400, message };
  return { status: 500, message };
}

function sha1(text: string): string {
  return createHash("sha1").update(text).digest("hex");
}

function sha256(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}
