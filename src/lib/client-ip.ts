import type { Context } from "hono";

/**
 * The client address as Cloudflare's edge saw it (`CF-Connecting-IP`); not spoofable behind
 * Cloudflare. Null off Cloudflare (tests, `wrangler dev`), where there is no address.
 */
export function clientIpOf(c: Context): string | null {
  return c.req.header("cf-connecting-ip") ?? null;
}
