/**
 * `npm run test:fuzz`: a longer campaign than `npm test` runs, with a random seed (printed
 * first, so that any failure can be replayed) — 10,000 random requests (test/fuzz.test.ts)
 * and 200 random write sequences (test/invariants.test.ts), those two files only.
 *
 *   FUZZ_SEED=…             the seed instead of a random one
 *   FUZZ_RUNS=…             runs per property instead of the campaign's
 *   FUZZ_PATH=…             replay one failing case (its message gives the whole command)
 *   npm run test:fuzz -- test/fuzz.test.ts    one of the two files
 *
 * Vite hands only VITE_-prefixed variables to the tests inside workerd, so they go on under
 * those names (see test/support/fuzz-plan.ts).
 */
import { spawnSync } from "node:child_process";
import { randomInt } from "node:crypto";

const FILES = ["test/fuzz.test.ts", "test/invariants.test.ts"];

const files = process.argv.slice(2);
const unknown = files.filter((file) => !FILES.includes(file));
if (unknown.length > 0) {
  console.error(`test:fuzz runs ${FILES.join(" and ")}, not ${unknown.join(", ")}`);
  process.exit(2);
}
const seed = process.env.FUZZ_SEED || String(randomInt(2 ** 31));
console.info(`fuzz campaign: seed ${seed} (repeat it with FUZZ_SEED=${seed} npm run test:fuzz)`);

const forwarded = Object.fromEntries(
  (["FUZZ_RUNS", "FUZZ_PATH"] as const)
    .filter((name) => process.env[name])
    .map((name) => [`VITE_${name}`, process.env[name]]),
);
const run = spawnSync("npx", ["vitest", "run", "--project", "workers", ...(files.length ? files : FILES)], {
  stdio: "inherit",
  env: { ...process.env, ...forwarded, VITE_FUZZ_SEED: seed, VITE_FUZZ_CAMPAIGN: "1" },
});
process.exit(run.status ?? 1);
