import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  MAX_ATTEMPTS,
  PURGE_CRON,
  RECONCILE_CRON,
  RETRY_BASE_SECONDS,
  retryDelaySeconds,
} from "../../src/jobs/policy";

/** The consumer counts attempts itself; wrangler.toml's queue settings must tell the same story. */
describe("queue and cron configuration", () => {
  const wranglerToml = () => readFile(join(import.meta.dirname, "../../wrangler.toml"), "utf8");

  function section(toml: string, header: string): Record<string, string> {
    const start = toml.indexOf(header);
    expect(start, header).toBeGreaterThanOrEqual(0);
    const body = toml.slice(start + header.length).split(/^\[/m)[0] ?? "";
    return Object.fromEntries(
      [...body.matchAll(/^(\w+)\s*=\s*(.+)$/gm)].map((m) => [m[1] as string, (m[2] as string).trim()]),
    );
  }

  it("the consumer's attempt budget and backoff base match the queue's max_retries and retry_delay", async () => {
    const consumer = section(await wranglerToml(), "[[queues.consumers]]");
    expect(Number(consumer.max_retries) + 1).toBe(MAX_ATTEMPTS);
    expect(Number(consumer.retry_delay)).toBe(RETRY_BASE_SECONDS);
    expect(consumer.dead_letter_queue).toBe('"tenantry-provisioning-dlq"');
  });

  it("every cron trigger has a task", async () => {
    const triggers = section(await wranglerToml(), "[triggers]");
    expect(JSON.parse(triggers.crons ?? "[]")).toEqual([RECONCILE_CRON, PURGE_CRON]);
  });

  it("retry delays double per attempt, jittered within the upper half", () => {
    for (let attempt = 1; attempt < MAX_ATTEMPTS; attempt++) {
      const ceiling = RETRY_BASE_SECONDS * 2 ** (attempt - 1);
      expect(retryDelaySeconds(attempt, () => 0)).toBe(Math.ceil(ceiling / 2));
      expect(retryDelaySeconds(attempt, () => 1)).toBe(ceiling);
    }
    expect([1, 2, 3, 4, 5].map((a) => retryDelaySeconds(a, () => 1))).toEqual([5, 10, 20, 40, 80]);
  });
});
