/**
 * Path selection: `/t/{tenant}/api/v1/...` reaches the route `/api/v1/...` with that tenant
 * selected, beside the subdomain and `X-Tenant-ID`. The router matches the path without the
 * prefix (`routingPath`), and tenant resolution reads the selector from the request's URL
 * (`pathSelectorOf`), where it must agree with every other selector.
 */
import type { Context } from "hono";
import { getPathNoStrict } from "hono/utils/url";

const PREFIXED = /^\/t\/([^/]+)(\/api\/.*)$/;

/** The path the router matches: without a tenant prefix, without a trailing slash. */
export function routingPath(request: Request): string {
  const path = getPathNoStrict(request);
  return PREFIXED.exec(path)?.[2] ?? path;
}

/** The tenant a `/t/{tenant}/…` URL selects, if it has the prefix. */
export function pathSelectorOf(c: Context): string | undefined {
  return PREFIXED.exec(getPathNoStrict(c.req.raw))?.[1];
}
