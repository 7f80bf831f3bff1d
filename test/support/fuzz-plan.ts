/**
 * Seed and size of a property test (fast-check). Under `npm test` the seed is fixed, so CI
 * never passes or fails by chance; `npm run test:fuzz` (scripts/fuzz.ts) picks a random one
 * for a longer campaign, or replays a failure. Every failure names the seed, the path of the
 * failing case and the command that replays it.
 *
 * Vite hands only VITE_-prefixed variables to the tests inside workerd, so scripts/fuzz.ts
 * passes FUZZ_SEED, FUZZ_RUNS and FUZZ_PATH on under those names.
 */
import fc from "fast-check";

const DEFAULT_SEED = 20261130;

/**
 * Read at run time from `process.env` (nodejs_compat), not `import.meta.env`: Vite writes
 * that into the transformed module, and vitest's module cache would keep an old seed.
 */
const { env } = (globalThis as unknown as { process: { env: Record<string, string | undefined> } }).process;

export interface FuzzPlan {
  seed: number;
  numRuns: number;
  /** The one failing case to replay (fast-check's `path`), if any. */
  path?: string;
  /** For the test's name: `seed 20261130, 1,500 runs`. */
  title: string;
  /** The test's timeout, from `msPerRun`. */
  timeout: number;
  /** `fc.assert` with this plan, whose failure also says how to replay it. */
  assert<Ts>(property: fc.IAsyncProperty<Ts>): Promise<void>;
}

export function fuzzPlan(
  file: string,
  sizes: { runs: number; campaignRuns: number; msPerRun: number },
): FuzzPlan {
  const seed = integer("VITE_FUZZ_SEED") ?? DEFAULT_SEED;
  const numRuns = integer("VITE_FUZZ_RUNS") ?? (env.VITE_FUZZ_CAMPAIGN ? sizes.campaignRuns : sizes.runs);
  const path = env.VITE_FUZZ_PATH || undefined;
  return {
    seed,
    numRuns,
    path,
    title: `seed ${seed}, ${path ? `replaying path ${path}` : `${numRuns.toLocaleString("en-US")} runs`}`,
    timeout: 30_000 + numRuns * sizes.msPerRun,
    async assert(property) {
      // Shrinking would re-send requests against a database the failing case has changed.
      const details = await fc.check(property, { seed, numRuns, path, endOnFailure: true });
      if (!details.failed) return;
      const replayPath = details.counterexamplePath ? ` FUZZ_PATH=${details.counterexamplePath}` : "";
      const replay = `FUZZ_SEED=${seed}${replayPath} npm run test:fuzz -- ${file}`;
      // Not fc.assert with a custom reporter: that leaves an unhandled rejection behind in vitest.
      throw new Error(`${fc.defaultReportMessage(details)}\n\nReplay it: ${replay}`, {
        cause: details.errorInstance,
      });
    },
  };
}

function integer(name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === "") return undefined;
  const value = Number(raw);
  if (!Number.isSafeInteger(value))
    throw new Error(`${name.replace(/^VITE_/, "")} must be an integer, not "${raw}"`);
  return value;
}
