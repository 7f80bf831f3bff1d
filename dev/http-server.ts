/**
 * HTTP plumbing shared by the local emulators (Upstash REST, Neon SQL-over-HTTP, the
 * WebSocket proxy): loopback-only listening, bounded JSON bodies, and a close that does
 * not hang on the keep-alive sockets fetch clients leave open.
 */
import type { IncomingMessage, Server, ServerResponse } from "node:http";

export const MAX_BODY_BYTES = 1024 * 1024;

/** An error that already knows the HTTP status it should be answered with. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The request's body as UTF-8 text; 413 past `limit` bytes (declared or streamed). */
export async function readTextBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<string> {
  const tooLarge = new HttpError(413, `request body exceeds ${limit} bytes`);
  if (Number(req.headers["content-length"]) > limit) throw tooLarge;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw tooLarge;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

export async function readJsonBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<unknown> {
  const text = await readTextBody(req, limit);
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, "request body is not valid JSON");
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(payload),
    // The rest of an oversized body is never read, so the connection cannot be reused.
    ...(status === 413 ? { connection: "close" } : {}),
  });
  res.end(payload);
}

/** Listens on 127.0.0.1 only: these emulators have no auth worth exposing to a network. */
export async function listen(server: Server, port = 0): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address();
  if (!address || typeof address === "string") throw new Error("server has no TCP address");
  return address.port;
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((err) => (err ? reject(err) : resolve()));
    server.closeAllConnections();
  });
}
