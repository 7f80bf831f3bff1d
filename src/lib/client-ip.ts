import type { Context } from "hono";
import { meteredBlock } from "./cidr";

/**
 * The client address as Cloudflare's edge saw it (`CF-Connecting-IP`); not spoofable behind
 * Cloudflare. Null off Cloudflare (tests, `wrangler dev`), where there is no address.
 */
export function clientIpOf(c: Context): string | null {
  return c.req.header("cf-connecting-ip") ?? null;
}

/**
 * The block that limits on public routes meter this client by (its IPv4 address, or its IPv6
 * /64; see `meteredBlock`): null where there is no address.
 */
export function meteredClientOf(c: Context): string | null {
  const ip = clientIpOf(c);
  return ip === null ? null : meteredBlock(ip);
}
