/**
 * A webhook receiver for the tests and `npm run dev`: the Worker POSTs its signed events to
 * `/hooks/<name>`. The receiver keeps each request as it arrived (headers, raw body) so a test
 * can check the signature. Each name can be scripted to answer failures, to answer slowly or
 * to redirect, so the tests can exercise the sender's retries, timeouts and its refusal to
 * follow redirects. Control routes live under `/__`:
 *   PUT    /__script/<name>    {"statuses"?: number[], "delay_ms"?: number, "redirect_to"?: string}
 *   GET    /__received/<name>  {"requests": [...]}, oldest first
 *   DELETE /__received/<name>  forgets the records and the script
 */
import { once } from "node:events";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { closeServer, HttpError, readJsonBody, readTextBody, sendJson } from "../http-server";

export interface WebhookReceiver {
  /** The base URL: hooks are at `${url}/hooks/<name>`. */
  url: string;
  port: number;
  stop(): Promise<void>;
}

/** One request to `/hooks/<name>`, as `GET /__received/<name>` lists it. */
export interface ReceivedWebhook {
  /** ISO 8601. */
  received_at: string;
  /** Every header, names lower-cased; a repeated header's values joined with ", ". */
  headers: Record<string, string>;
  /** The raw body, so a test can verify a signature over the exact bytes. */
  body: string;
}

/** What `PUT /__script/<name>` takes; it replaces the name's previous script. */
export interface WebhookScript {
  /** Answers to the next requests, in order; afterwards the default (204, or the redirect). */
  statuses?: number[];
  /** Holds every answer of the name this long, to test the sender's timeout. */
  delay_ms?: number;
  /** Answers 307 with this Location instead of 204, to test that the sender does not follow. */
  redirect_to?: string;
}

const MAX_RECORDS_PER_NAME = 1000;
const MAX_DELAY_MS = 120_000;
const NAME = "[A-Za-z0-9_-]{1,64}";
const ROUTE = new RegExp(`^/(hooks|__script|__received)/(${NAME})$`);

interface Hook {
  records: ReceivedWebhook[];
  statuses: number[];
  delayMs: number;
  redirectTo?: string;
}

export async function startWebhookReceiver(
  options: { port?: number; host?: string } = {},
): Promise<WebhookReceiver> {
  const host = options.host ?? "127.0.0.1";
  const hooks = new Map<string, Hook>();
  const hook = (name: string): Hook => {
    let found = hooks.get(name);
    if (!found) {
      found = { records: [], statuses: [], delayMs: 0 };
      hooks.set(name, found);
    }
    return found;
  };
  // Aborts the delays still pending at stop(), so their timers do not keep the process alive.
  const stopping = new AbortController();

  const receive = async (req: IncomingMessage, res: ServerResponse, name: string) => {
    const body = await readTextBody(req);
    const state = hook(name);
    state.records.push({ received_at: new Date().toISOString(), headers: lowerCasedHeaders(req), body });
    if (state.records.length > MAX_RECORDS_PER_NAME) state.records.shift();
    const status = state.statuses.shift();
    const redirectTo = status === undefined ? state.redirectTo : undefined;
    if (state.delayMs > 0) await sleep(state.delayMs, undefined, { signal: stopping.signal });
    if (redirectTo) res.writeHead(307, { location: redirectTo }).end();
    else res.writeHead(status ?? 204).end();
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const { pathname } = new URL(req.url ?? "/", "http://receiver");
    const [, route, name] = ROUTE.exec(pathname) ?? [];
    if (name) {
      switch (`${req.method} ${route}`) {
        case "POST hooks":
          return receive(req, res, name);
        case "PUT __script": {
          const script = parseScript(await readJsonBody(req));
          Object.assign(hook(name), {
            statuses: script.statuses ?? [],
            delayMs: script.delay_ms ?? 0,
            redirectTo: script.redirect_to,
          });
          res.writeHead(204).end();
          return;
        }
        case "GET __received":
          return sendJson(res, 200, { requests: hooks.get(name)?.records ?? [] });
        case "DELETE __received":
          hooks.delete(name);
          res.writeHead(204).end();
          return;
      }
    }
    throw new HttpError(404, `no route for ${req.method} ${pathname}`);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (stopping.signal.aborted) return;
      if (err instanceof HttpError) sendJson(res, err.status, { error: err.message });
      else sendJson(res, 500, { error: err instanceof Error ? err.message : String(err) });
    });
  });
  // Not http-server's listen(): that one is loopback-only, and `host` may name another address.
  server.listen(options.port ?? 0, host);
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${port}`,
    port,
    async stop() {
      stopping.abort();
      await closeServer(server);
    },
  };
}

function parseScript(value: unknown): WebhookScript {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new HttpError(400, "a script is a JSON object");
  }
  const { statuses, delay_ms, redirect_to } = value as Record<string, unknown>;
  if (
    statuses !== undefined &&
    !(Array.isArray(statuses) && statuses.every((s) => Number.isInteger(s) && s >= 200 && s <= 599))
  ) {
    throw new HttpError(400, "statuses must be an array of HTTP statuses from 200 to 599");
  }
  if (
    delay_ms !== undefined &&
    !(typeof delay_ms === "number" && Number.isInteger(delay_ms) && delay_ms >= 0 && delay_ms <= MAX_DELAY_MS)
  ) {
    throw new HttpError(400, `delay_ms must be a whole number of milliseconds up to ${MAX_DELAY_MS}`);
  }
  if (redirect_to !== undefined && !(typeof redirect_to === "string" && URL.canParse(redirect_to))) {
    throw new HttpError(400, "redirect_to must be an absolute URL");
  }
  return value as WebhookScript;
}

/** Every header, from rawHeaders: `req.headers` drops repeats of some names (Node's duplicate rules). */
function lowerCasedHeaders(req: IncomingMessage): Record<string, string> {
  const headers = new Map<string, string>();
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = (req.rawHeaders[i] as string).toLowerCase();
    const value = req.rawHeaders[i + 1] as string;
    const earlier = headers.get(name);
    headers.set(name, earlier === undefined ? value : `${earlier}, ${value}`);
  }
  return Object.fromEntries(headers);
}
