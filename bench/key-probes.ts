/**
 * Security item 9: how long refusing an API key takes when its slug is unknown, names a
 * deleted tenant, or names a live one (wrong secret); the ratio should be ~1. Each request
 * carries a fresh secret, so it misses the verification cache and does the database work;
 * the cases take turns in rotating order so drift hits all alike; and each request comes
 * from its own address, so the failed-credential limiter (10/min per address) never answers
 * in place of verification.
 */
import { randomBytes } from "node:crypto";
import { withClient } from "../dev/migrate";
import { randomBase62 } from "../src/lib/encoding";
import type { Probe } from "./seed";
import { median, round } from "./stats";

const KEY_PROBE_SAMPLES = 150;
const KEY_PROBE_WARMUP = 20;
const KEY_PROBE_CASES = ["unknown", "deleted", "live_wrong_secret"] as const;
type KeyProbeCase = (typeof KEY_PROBE_CASES)[number];

export interface KeyProbes {
  samples: number;
  median_ms: Record<KeyProbeCase, number>;
  max_over_min: number;
}

export async function keyProbeLatency(url: string, adminUrl: string, live: Probe): Promise<KeyProbes> {
  const deleted = `bench-deleted-${randomBytes(4).toString("hex")}`;
  await withClient(adminUrl, (client) =>
    client.query("insert into tenants (slug, name, status, deleted_at) values ($1, $1, 'deleted', now())", [
      deleted,
    ]),
  );
  const slugs: Record<KeyProbeCase, string> = {
    unknown: `bench-nobody-${randomBytes(4).toString("hex")}`,
    deleted,
    live_wrong_secret: live.slug,
  };
  const timings: Record<KeyProbeCase, number[]> = { unknown: [], deleted: [], live_wrong_secret: [] };
  let sent = 0;
  for (let i = 0; i < KEY_PROBE_WARMUP + KEY_PROBE_SAMPLES; i++) {
    for (let j = 0; j < KEY_PROBE_CASES.length; j++) {
      const kind = KEY_PROBE_CASES[(i + j) % KEY_PROBE_CASES.length] as KeyProbeCase;
      sent++;
      const started = performance.now();
      const res = await fetch(`${url}/api/v1/clusters?limit=20`, {
        headers: {
          "x-api-key": `uk_${slugs[kind]}_${randomBase62(40)}`,
          "cf-connecting-ip": `10.${(sent >> 16) & 255}.${(sent >> 8) & 255}.${sent & 255}`,
        },
      });
      await res.arrayBuffer();
      const elapsed = performance.now() - started;
      if (res.status !== 401) throw new Error(`key probe (${kind}) answered ${res.status}, expected 401`);
      if (i >= KEY_PROBE_WARMUP) timings[kind].push(elapsed);
    }
  }
  const median_ms = Object.fromEntries(
    KEY_PROBE_CASES.map((kind) => [kind, round(median(timings[kind]))]),
  ) as Record<KeyProbeCase, number>;
  const medians = Object.values(median_ms);
  return {
    samples: KEY_PROBE_SAMPLES,
    median_ms,
    max_over_min: round(Math.max(...medians) / Math.max(Math.min(...medians), 0.01)),
  };
}
