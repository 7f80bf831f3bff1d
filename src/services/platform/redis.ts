import { Redis } from "@upstash/redis/cloudflare";
import type { Config } from "../../env";

const clients = new Map<string, Redis>();

/**
 * One client per isolate and endpoint: it is only configuration over `fetch`, and the rate
 * limiter's ephemeral cache lives next to it. Retries are few and short, because a request
 * waiting on a dead Redis is worse than the failure mode deciding quickly.
 */
export function redisFor(config: Config): Redis {
  const key = `${config.UPSTASH_REDIS_REST_URL}\u0000${config.UPSTASH_REDIS_REST_TOKEN}`;
  let client = clients.get(key);
  if (!client) {
    client = new Redis({
      url: config.UPSTASH_REDIS_REST_URL,
      token: config.UPSTASH_REDIS_REST_TOKEN,
      retry: { retries: 1, backoff: () => 20 },
      enableTelemetry: false,
    });
    clients.set(key, client);
  }
  return client;
}
