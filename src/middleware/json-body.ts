import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { Problem } from "../lib/problem";
import type { AppBindings } from "../request-env";

export const MAX_BODY_BYTES = 1024 * 1024;

const METHODS_WITH_BODY = new Set(["POST", "PUT", "PATCH", "DELETE"]);
/** Only the API speaks JSON; the console's HTML forms post urlencoded bodies (and limit them itself). */
const API_PREFIX = "/api/";
const JSON_TYPE = /^application\/(?:[a-z0-9.+-]+\+)?json\s*(?:;|$)/i;

/**
 * Reads and parses every request body once, before validation, so that each failure has
 * its own stable code: 413 (too large, checked while streaming, not trusting
 * Content-Length), 415 (not JSON) and 400 `malformed_json` (bad syntax or invalid UTF-8).
 * The parsed value is left in Hono's body cache for the zod validators; an empty body is
 * read as `{}` (see `readAsEmptyObject`).
 */
export const jsonBody = () =>
  createMiddleware<AppBindings>(async (c, next) => {
    if (!readsJsonBody(c.req.method, c.req.path)) return next();
    const declared = Number(c.req.header("content-length") ?? "0");
    if (declared > MAX_BODY_BYTES) throw tooLarge();
    const bytes = c.req.raw.body ? await readCapped(c.req.raw.body) : new Uint8Array(0);
    if (bytes.byteLength === 0) {
      readAsEmptyObject(c);
      return next();
    }
    if (!JSON_TYPE.test(c.req.header("content-type") ?? "")) {
      throw new Problem("unsupported_media_type", "Request bodies must be application/json.");
    }
    c.req.bodyCache.json = Promise.resolve(parseJson(bytes));
    await next();
  });

/**
 * Whether this guard reads the body of a request: it then may answer 400 `malformed_json`,
 * 413 and 415, whether or not the route takes a body (the OpenAPI document declares them
 * from here).
 */
export function readsJsonBody(method: string, path: string): boolean {
  return METHODS_WITH_BODY.has(method.toUpperCase()) && path.startsWith(API_PREFIX) && !STREAMED.test(path);
}

/** Routes that stream a larger body of their own (an import's NDJSON): they limit and parse it themselves. */
const STREAMED = /^\/api\/v1\/tenants\/[^/]+\/import$/;

/**
 * An empty (or absent) body, whatever its content type, goes on as a JSON `{}`: a route
 * whose body is optional validates it and gets its defaults, one whose body is required
 * answers 400 `validation_failed` for the missing fields, and neither answers 415. The
 * request itself is replaced, not just the cache, because the stream is spent (a validator
 * that reads it again fails with "Body has already been used") and @hono/zod-openapi decides
 * from the Content-Type header alone: 415 for any non-JSON type, and no validation (so no
 * defaults) for an optional body without one.
 */
function readAsEmptyObject(c: Context<AppBindings>): void {
  const headers = new Headers(c.req.raw.headers);
  headers.set("content-type", "application/json");
  headers.delete("content-length");
  c.req.raw = new Request(c.req.raw, { headers, body: "{}" });
  c.req.bodyCache.json = Promise.resolve({});
}

function parseJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes));
  } catch {
    throw new Problem("malformed_json", "The request body is not valid JSON.");
  }
}

async function readCapped(body: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_BODY_BYTES) {
      await reader.cancel();
      throw tooLarge();
    }
    chunks.push(value);
  }
  const out = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

function tooLarge(): Problem {
  return new Problem("payload_too_large", `Request bodies are limited to ${MAX_BODY_BYTES} bytes.`);
}
