/** Where a test file leaves its contract counts for the reporter (shared by workerd and Node code). */
export const CONTRACT_META = "openapiContract";

export interface ContractCounts {
  /** Responses checked against the document. */
  validated: number;
  /** Responses of paths outside the API (console, docs, the document), not checked. */
  outside: number;
}
