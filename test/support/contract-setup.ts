/**
 * Set up in every file of the workers project: when the file ends, its counts of checked
 * responses go into the file's task meta, which `contract-summary.ts` sums in the main process.
 */
import { afterAll } from "vitest";
import { takeContractCounts } from "./contract";
import { CONTRACT_META } from "./contract-meta";

// Vitest reads a hook's first parameter as fixtures and insists on a destructuring pattern;
// the file comes second.
// biome-ignore lint/correctness/noEmptyPattern: no fixture is wanted, only the file
afterAll(({}, file) => {
  (file.meta as Record<string, unknown>)[CONTRACT_META] = takeContractCounts();
});
