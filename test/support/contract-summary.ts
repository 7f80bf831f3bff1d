/**
 * A reporter that prints, once the run ends, how many responses the test files checked
 * against the OpenAPI document (test/support/contract.ts), summed from each file's meta.
 * Runs in the main process, after the default reporter's summary.
 */
import type { Reporter, TestModule } from "vitest/node";
import { CONTRACT_META, type ContractCounts } from "./contract-meta";

export default class ContractSummary implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    const total = { validated: 0, outside: 0, files: 0 };
    for (const module of modules) {
      const counts = (module.meta() as Record<string, ContractCounts | undefined>)[CONTRACT_META];
      if (!counts) continue;
      total.validated += counts.validated;
      total.outside += counts.outside;
      total.files += 1;
    }
    if (total.files === 0) return;
    console.log(
      `\n OpenAPI contract  ${total.validated} responses validated against /openapi.json in ${total.files} file${total.files === 1 ? "" : "s"}` +
        ` (${total.outside} outside the API, not checked: console, docs, the document itself)\n`,
    );
  }
}
