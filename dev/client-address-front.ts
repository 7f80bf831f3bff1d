/**
 * The local stand-in for what Cloudflare's edge does to `CF-Connecting-IP`: every request
 * reaches the Worker with the header set to the TCP peer's address, whatever the client sent.
 * `npm run dev` serves the API through this front; `wrangler dev` listens behind it on a
 * loopback port of its own.
 *
 * Without it a client could pose as any address: Miniflare sets `CF-Connecting-IP` only when
 * the request has none, so `curl -H 'CF-Connecting-IP: 203.0.113.9'` would walk through a
 * tenant's IP allowlist and the per-address limits. `TENANTRY_DEV_TRUST_CLIENT_IP=1` passes a
 * client's own value through instead (the peer's address when it sends none), to try an address
 * other than loopback by hand; it is for this machine only, and the stack says it is on.
 */
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  request,
  type ServerResponse,
} from "node:http";
import { closeServer, listen } from "./http-server";

export const TRUST_CLIENT_IP_ENV = "TENANTRY_DEV_TRUST_CLIENT_IP";

/** Connection-scoped headers (RFC 9110 §7.6.1): each hop sets its own. */
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

export interface ClientAddressFront {
  url: string;
  stop(): Promise<void>;
}

/** Reads `TENANTRY_DEV_TRUST_CLIENT_IP`: unset, empty or `0` is off, `1` is on; anything else is refused by name. */
export function parseTrustClientIp(raw: string | undefined): boolean {
  const value = raw?.trim() ?? "";
  if (value === "" || value === "0") return false;
  if (value === "1") return true;
  throw new Error(`${TRUST_CLIENT_IP_ENV} must be 1 or 0 (got ${JSON.stringify(raw)})`);
}

/** The address as Cloudflare writes it: an IPv4 peer on a dual-stack socket without its `::ffff:`. */
export function peerAddress(remote: string | undefined): string | undefined {
  return remote?.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, "");
}

export async function startClientAddressFront(opts: {
  /** Where the Worker listens (`http://127.0.0.1:<port>`). */
  target: string;
  port?: number;
  trustClientIp: boolean;
}): Promise<ClientAddressFront> {
  const target = new URL(opts.target);
  const server = createServer((req, res) => forward(req, res, target, opts.trustClientIp));
  const port = await listen(server, opts.port);
  return { url: `http://127.0.0.1:${port}`, stop: () => closeServer(server) };
}

function forward(req: IncomingMessage, res: ServerResponse, target: URL, trustClientIp: boolean): void {
  const headers = withoutHopByHop(req.headers);
  const sent = headers["cf-connecting-ip"];
  const peer = peerAddress(req.socket.remoteAddress);
  if (!(trustClientIp && typeof sent === "string" && sent !== "")) {
    if (peer) headers["cf-connecting-ip"] = peer;
    else delete headers["cf-connecting-ip"];
  }
  const upstream = request(
    { hostname: target.hostname, port: target.port, method: req.method, path: req.url, headers },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.statusMessage, withoutHopByHop(answer.headers));
      answer.pipe(res);
    },
  );
  upstream.on("error", (err) => {
    if (res.headersSent) {
      res.destroy(err);
      return;
    }
    res.writeHead(502, { "content-type": "text/plain; charset=utf-8" });
    res.end(`the Worker behind the dev front is unreachable: ${err.message}\n`);
  });
  req.pipe(upstream);
}

function withoutHopByHop(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const out: IncomingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) if (!HOP_BY_HOP.has(name)) out[name] = value;
  return out;
}
