import { createHash } from "node:crypto";
import { Ratelimit } from "@upstash/ratelimit";
import { Redis } from "@upstash/redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RedisService, startRedis } from "../servers/redis";
import { startUpstashAdapter, type UpstashAdapter } from "../upstash-adapter";

const TOKEN = "local-test-token";

let redisServer: RedisService;
let adapter: UpstashAdapter;

beforeAll(async () => {
  redisServer = await startRedis();
  adapter = await startUpstashAdapter({ redisUrl: redisServer.url, token: TOKEN });
});

afterAll(async () => {
  await adapter?.stop();
  await redisServer?.stop();
});

function post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${adapter.url}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${TOKEN}`, ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

describe.each([
  { encoding: "base64", responseEncoding: "base64" as const },
  { encoding: "plain JSON", responseEncoding: false as const },
])("@upstash/redis over $encoding", ({ encoding, responseEncoding }) => {
  const redis = () => new Redis({ url: adapter.url, token: TOKEN, responseEncoding });
  const key = (name: string) => `${encoding}:${name}`;

  it("gets, sets and increments", async () => {
    expect(await redis().set(key("s"), "héllo wörld")).toBe("OK");
    expect(await redis().get(key("s"))).toBe("héllo wörld");
    expect(await redis().incr(key("n"))).toBe(1);
    expect(await redis().incr(key("n"))).toBe(2);
    expect(await redis().get(key("missing"))).toBeNull();
  });

  it("returns a stored 'OK' inside an array intact", async () => {
    await redis().set(key("ok"), "OK");
    expect(await redis().mget(key("ok"), key("missing"))).toEqual(["OK", null]);
  });

  it("round-trips a hash through HSET and HGETALL", async () => {
    expect(await redis().hset(key("h"), { plan: "pro", seats: 3 })).toBe(2);
    expect(await redis().hgetall(key("h"))).toEqual({ plan: "pro", seats: 3 });
  });

  it("runs a pipeline", async () => {
    const pipeline = redis().pipeline();
    pipeline.set(key("p"), 10).incr(key("p")).get(key("p"));
    expect(await pipeline.exec()).toEqual(["OK", 11, 11]);
  });

  it("runs MULTI/EXEC with Redis semantics: a failing command does not undo the others", async () => {
    expect(await redis().multi().set(key("m"), 1).incrby(key("m"), 4).get(key("m")).exec()).toEqual([
      "OK",
      5,
      5,
    ]);
    const failing = redis().multi().set(key("word"), "abc").incr(key("word"));
    await expect(failing.exec()).rejects.toThrow(/not an integer/);
    expect(await redis().get(key("word"))).toBe("abc");
  });

  it("runs EVAL and EVALSHA, including scripts with Upstash-only flags", async () => {
    expect(await redis().eval("return ARGV[1] .. '!'", [], ["hi"])).toBe("hi!");
    // Tagged like @upstash/ratelimit's scripts (Redis itself rejects the flag); unique per
    // run so Redis has not cached it yet.
    const script = `#!lua flags=allow-key-locking\nreturn redis.call('INCR', KEYS[1]) -- ${encoding}`;
    const sha = createHash("sha1").update(script).digest("hex");
    await expect(redis().evalsha(sha, [key("e")], [])).rejects.toThrow(/NOSCRIPT/);
    expect(await redis().eval(script, [key("e")], [])).toBe(1);
    expect(await redis().evalsha(sha, [key("e")], [])).toBe(2);
    expect(await redis().scriptLoad(script)).toBe(sha);
  });
});

describe("Upstash REST protocol details", () => {
  it("rejects a wrong token", async () => {
    const redis = new Redis({ url: adapter.url, token: "wrong" });
    await expect(redis.get("anything")).rejects.toThrow(/Unauthorized/);
    expect((await post("/", ["PING"], { authorization: "Bearer nope" })).status).toBe(401);
  });

  it("base64-encodes nested strings but leaves a top-level OK readable", async () => {
    const headers = { "upstash-encoding": "base64" };
    expect(await (await post("/", ["SET", "raw:v", "v"], headers)).json()).toEqual({ result: "OK" });
    expect(await (await post("/", ["MGET", "raw:v"], headers)).json()).toEqual({ result: ["dg=="] });
  });

  it("flattens HGETALL and turns null arguments into empty strings", async () => {
    await post("/", ["HSET", "raw:h", "a", "1", "b", null]);
    expect(await (await post("/", ["HGETALL", "raw:h"])).json()).toEqual({ result: ["a", "1", "b", ""] });
  });

  it("answers command errors with HTTP 400", async () => {
    const response = await post("/", ["NOSUCHCOMMAND"]);
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: expect.stringMatching(/unknown command/) });
  });

  it("reports per-command errors inside a pipeline", async () => {
    await post("/", ["SET", "raw:text", "abc"]);
    const response = await post("/pipeline", [
      ["INCR", "raw:text"],
      ["GET", "raw:text"],
    ]);
    expect(await response.json()).toEqual([
      { error: expect.stringMatching(/not an integer/) },
      { result: "abc" },
    ]);
  });

  it("refuses bodies over 1 MiB with 413", async () => {
    const response = await post("/", ["SET", "raw:big", "x".repeat(1024 * 1024 + 1)]);
    expect(response.status).toBe(413);
  });

  it("counts requests and commands", async () => {
    adapter.stats.reset();
    await post("/pipeline", [["PING"], ["PING"], ["PING"]]);
    await post("/", ["PING"]);
    expect({ requests: adapter.stats.requests, commands: adapter.stats.commands }).toEqual({
      requests: 2,
      commands: 4,
    });
  });
});

describe("@upstash/ratelimit", () => {
  const redis = () => new Redis({ url: adapter.url, token: TOKEN });

  // Hour-long windows: a test must not straddle a window boundary (see LOCAL-STACK.md).
  it("admits exactly 5 of 8 calls in a sliding window of 5", async () => {
    const limiter = new Ratelimit({
      redis: redis(),
      limiter: Ratelimit.slidingWindow(5, "1 h"),
      prefix: "rl:sw",
    });
    const outcomes = [];
    for (let i = 0; i < 8; i++) outcomes.push((await limiter.limit("tenant-a")).success);
    expect(outcomes).toEqual([true, true, true, true, true, false, false, false]);
  });

  it("admits exactly 3 of 5 calls in a fixed window of 3, per identifier", async () => {
    const limiter = new Ratelimit({
      redis: redis(),
      limiter: Ratelimit.fixedWindow(3, "1 h"),
      prefix: "rl:fw",
    });
    const outcomes = [];
    for (let i = 0; i < 5; i++) outcomes.push((await limiter.limit("tenant-a")).success);
    expect(outcomes).toEqual([true, true, true, false, false]);
    const other = await limiter.limit("tenant-b");
    expect(other).toMatchObject({ success: true, remaining: 2 });
  });
});

describe("simulated distance (rttMs)", () => {
  const RTT = 100;

  it("makes each request take at least one RTT, so N sequential ones take N RTTs", async () => {
    const distant = await startUpstashAdapter({ redisUrl: redisServer.url, token: TOKEN, rttMs: RTT });
    try {
      const redis = new Redis({ url: distant.url, token: TOKEN });
      const started = performance.now();
      expect(await redis.set("distant", "far")).toBe("OK");
      expect(performance.now() - started).toBeGreaterThanOrEqual(RTT);
      expect(await redis.get("distant")).toBe("far");
      expect(await redis.incr("distant:n")).toBe(1);
      expect(performance.now() - started).toBeGreaterThanOrEqual(3 * RTT);
      expect(distant.stats.requests).toBe(3);
    } finally {
      await distant.stop();
    }
  });
});
