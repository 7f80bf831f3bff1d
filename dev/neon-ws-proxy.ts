/**
 * The WebSocket→TCP proxy Neon runs in front of Postgres, so the real
 * `@neondatabase/serverless` Pool/Client (the Worker's WebSocket path) reaches a local
 * Postgres unchanged. It relays only to loopback, so it can never act as an open proxy.
 */
import { createServer, type IncomingMessage } from "node:http";
import { createRequire } from "node:module";
import { isIPv4, type Socket, connect as tcpConnect } from "node:net";
import type { Duplex } from "node:stream";
import type { WebSocket, WebSocketServer as WebSocketServerType } from "ws";
import { closeServer, listen } from "./http-server";
import { delayUntil } from "./sim-rtt";
import { createStats, type Stats } from "./stats";

// Under the Workers vitest plugin's resolve conditions `import "ws"` yields its browser stub.
const { WebSocketServer } = createRequire(import.meta.url)("ws") as {
  WebSocketServer: typeof WebSocketServerType;
};

export interface NeonWsProxy {
  port: number;
  /** `roundTrips`: client frames holding a Query or Sync message, i.e. that wait for an answer. */
  stats: Stats<"connections" | "roundTrips">;
  stop(): Promise<void>;
}

const PATH = "/v1";
const LOOPBACK_HOSTS = new Set(["localhost", "::1", "[::1]"]);
const Q = "Q".charCodeAt(0);
const S = "S".charCodeAt(0);
const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;

export async function startNeonWsProxy(opts: { port?: number; rttMs?: number } = {}): Promise<NeonWsProxy> {
  const rttMs = opts.rttMs ?? 0;
  const stats = createStats("connections", "roundTrips");
  const sockets = new Set<Socket>();
  const server = createServer((_req, res) => {
    res.writeHead(426, { "content-type": "text/plain" }).end("WebSocket upgrade required\n");
  });
  const wss = new WebSocketServer({ noServer: true });

  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const target = parseTarget(req.url);
    if (typeof target === "string") {
      socket.end(
        `HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Type: text/plain\r\n\r\n${target}\n`,
      );
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      stats.connections++;
      relay(ws, target, { stats, sockets, rttMs });
    });
  });

  const port = await listen(server, opts.port);
  return {
    port,
    stats,
    async stop() {
      for (const client of wss.clients) client.terminate();
      for (const socket of sockets) socket.destroy();
      await closeServer(server);
    },
  };
}

/** Returns the loopback target, or the reason the request is refused. */
function parseTarget(url: string | undefined): { host: string; port: number } | string {
  const base = "http://localhost";
  if (!URL.canParse(url ?? "/", base)) return "malformed request URL";
  const parsed = new URL(url ?? "/", base);
  if (parsed.pathname !== PATH) return `unknown path ${parsed.pathname}; expected ${PATH}?address=host:port`;
  const address = parsed.searchParams.get("address") ?? "";
  const colon = address.lastIndexOf(":");
  const host = address.slice(0, colon);
  const port = Number(address.slice(colon + 1));
  if (colon <= 0 || !Number.isInteger(port) || port < 1 || port > 65535) {
    return `invalid address "${address}"; expected host:port`;
  }
  if (!LOOPBACK_HOSTS.has(host) && !(isIPv4(host) && host.startsWith("127."))) {
    return `refusing to relay to ${host}: only loopback addresses are allowed`;
  }
  return { host: host.replace(/^\[(.*)\]$/, "$1"), port };
}

function relay(
  ws: WebSocket,
  target: { host: string; port: number },
  { stats, sockets, rttMs }: { stats: Stats<"roundTrips">; sockets: Set<Socket>; rttMs: number },
): void {
  const socket = tcpConnect(target.port, target.host);
  sockets.add(socket);
  const counter = new RoundTripCounter();
  const toServer = simulatedLink(rttMs, (err) => socket.destroy(err));
  // Writes before the TCP connect completes are buffered by net.Socket, so nothing is lost.
  ws.on("message", (data: Buffer) => {
    if (counter.frameWaitsForReply(data)) stats.roundTrips++;
    toServer(() => socket.write(data));
  });
  socket.on("data", (data) => ws.send(data, { binary: true }));
  // Behind the frames still on their way, or a Terminate message would be cut off.
  ws.on("close", () => toServer(() => socket.end()));
  ws.on("error", () => socket.destroy());
  socket.on("close", () => {
    sockets.delete(socket);
    ws.close();
  });
  socket.on("error", (err) => ws.close(1011, err.message.slice(0, 120)));
}

/**
 * Simulated distance on the client→server leg. Each client frame reaches Postgres `rttMs`
 * after the proxy received it, and answers come straight back, so a message the server
 * answers costs one full RTT: the whole trip is lumped onto the way in. The delay is
 * latency, not a per-message cost: every frame keeps its own deadline (arrival + RTT) and
 * frames leave in order, so a pipelined burst — Parse/Bind/Execute/Sync, or several queries
 * sent without waiting — lands together one RTT later, as over a real link, and costs one RTT,
 * not one per message. Only what the client must wait for before sending again (startup,
 * each SCRAM step, each query) adds up. The WebSocket upgrade itself is not delayed.
 * At 0 the frames are forwarded synchronously, with no timers, exactly as without it.
 */
function simulatedLink(rttMs: number, fail: (err: Error) => void): (deliver: () => void) => void {
  if (rttMs === 0) return (deliver) => deliver();
  let inFlight = Promise.resolve();
  return (deliver) => {
    const deadline = performance.now() + rttMs;
    inFlight = inFlight
      .then(() => delayUntil(deadline))
      .then(deliver)
      .catch(fail);
  };
}

/**
 * Follows Postgres frontend message boundaries across frames. The first message (startup,
 * or an SSL/GSS request before it) has no type byte; every later one is type + int32 length.
 */
class RoundTripCounter {
  private typed = false;
  private pending = Buffer.alloc(0);
  /** Set when the bytes stop looking like Postgres messages (e.g. after TLS starts). */
  private lost = false;

  frameWaitsForReply(frame: Buffer): boolean {
    if (this.lost) return false;
    let buffer = Buffer.concat([this.pending, frame]);
    let waits = false;
    for (;;) {
      const header = this.typed ? 5 : 8;
      if (buffer.length < header) break;
      const length = this.typed ? buffer.readInt32BE(1) + 1 : buffer.readInt32BE(0);
      if (length < header) {
        this.lost = true;
        return false;
      }
      if (buffer.length < length) break;
      if (this.typed) {
        waits ||= buffer[0] === Q || buffer[0] === S;
      } else {
        // SSLRequest / GSSENCRequest are followed by the real, still untyped, startup message.
        const code = buffer.readInt32BE(4);
        this.typed = code !== SSL_REQUEST && code !== GSSENC_REQUEST;
      }
      buffer = buffer.subarray(length);
    }
    this.pending = buffer;
    return waits;
  }
}
