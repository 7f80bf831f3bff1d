/**
 * `@tenantry/contract`: what the Worker (`src/`) and the provisioner (`provisioner/`) must
 * agree on, written once. Both consume this TypeScript source directly; the provisioner's
 * bundle carries it. Only zod: nothing here may pull the Worker's database or HTTP stack into
 * the provisioner, or the other way round.
 */
export * from "./databases";
export * from "./jobs";
export * from "./namespaces";
export * from "./plans";
export * from "./problem";
export * from "./status";
