/**
 * Shared pieces of the attack suites: the injection strings, a counter of attacks tried
 * (printed at the end of each suite; run with `--silent=false` to see it), and the check
 * every hostile answer must pass — never a 5xx, and any error is problem+json.
 */
import { afterAll, expect } from "vitest";
import "../../src/app";
import { ROUTE_TABLE, type RouteEntry } from "../../src/routes/route-table";
import { api } from "./fixtures";

/** SQL that would change or reveal something if it were ever spliced into a statement. */
export const SQL_INJECTION = [
  "' OR '1'='1",
  "'; DROP TABLE tenants; --",
  '"; DROP TABLE audit_events; --',
  "x'); UPDATE tenants SET name = 'pwned' WHERE ('1' = '1",
  "' UNION SELECT id, slug, name FROM tenants --",
  "admin'--",
  "1; DELETE FROM api_keys",
  "$$; SELECT pg_sleep(0); $$",
  "'; SELECT set_config('app.scope', 'system', false); --",
  "%' OR slug LIKE '%",
  "\\'; TRUNCATE users CASCADE; --",
];

/** Counts the requests a suite sends as attacks and reports the total when it ends. */
export function attackCounter(suite: string) {
  const counter = {
    count: 0,
    send(path: string, init: RequestInit & { host?: string } = {}): Promise<Response> {
      counter.count += 1;
      return api(path, init);
    },
  };
  afterAll(() => {
    console.info(`${suite}: ${counter.count} attacks tried`);
  });
  return counter;
}

/** Never a 5xx; an error is RFC 9457 problem+json with a code. Returns the parsed body. */
export async function expectHandled(res: Response, label: string): Promise<Record<string, unknown>> {
  const text = await res.text();
  expect(res.status, `${label}: ${text.slice(0, 300)}`).toBeLessThan(500);
  if (res.status >= 400) {
    expect(res.headers.get("content-type"), label).toBe("application/problem+json");
    const body = JSON.parse(text) as Record<string, unknown>;
    expect(typeof body.code, label).toBe("string");
    return body;
  }
  return text && res.headers.get("content-type")?.includes("json") ? JSON.parse(text) : {};
}

export function routeOf(method: string, path: string): RouteEntry {
  const entry = ROUTE_TABLE.find((e) => e.method === method && e.path === path);
  if (!entry) throw new Error(`${method} ${path} is documented but not in the route table`);
  return entry;
}

/** The first value stored under `key` anywhere in a JSON value (depth-first, in key order). */
export function findKey(value: unknown, key: string): unknown {
  if (value === null || typeof value !== "object") return undefined;
  if (!Array.isArray(value) && key in value) return (value as Record<string, unknown>)[key];
  for (const child of Object.values(value)) {
    const found = findKey(child, key);
    if (found !== undefined) return found;
  }
  return undefined;
}
