import { sql } from "drizzle-orm";
import type { HttpDatabase } from "../../db/client";
import type { Config } from "../../env";
import { redisFor } from "./redis";

export type CheckResult = "ok" | "error";

const CHECK_TIMEOUT_MS = 2_000;

export interface HealthReport {
  status: "ok" | "degraded";
  checks: { db: CheckResult; redis: CheckResult };
}

/** Probes both backends in parallel, each bounded, so /health answers even when one hangs. */
export async function checkHealth(http: HttpDatabase, config: Config): Promise<HealthReport> {
  const [dbResult, redisResult] = await Promise.all([
    probe(() => http.execute(sql`select 1`)),
    probe(() => redisFor(config).ping()),
  ]);
  const healthy = dbResult === "ok" && redisResult === "ok";
  return { status: healthy ? "ok" : "degraded", checks: { db: dbResult, redis: redisResult } };
}

async function probe(run: () => Promise<unknown>): Promise<CheckResult> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<CheckResult>((resolve) => {
    timer = setTimeout(() => resolve("error"), CHECK_TIMEOUT_MS);
  });
  try {
    return await Promise.race([run().then((): CheckResult => "ok"), timeout]);
  } catch {
    return "error";
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}
