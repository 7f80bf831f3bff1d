/**
 * Prometheus metrics on a registry of their own (not prom-client's global one), so several
 * provisioners in one process — tests, the dev stack — never share or clash on counters.
 */
import { Counter, Histogram, Registry } from "prom-client";

export interface ProvisionerMetrics {
  registry: Registry;
  /** outcome: a job status (succeeded, dry_run, terminating, gone) or an error code. */
  jobs: Counter<"kind" | "outcome">;
  /** One server-side apply request, by the kind of object applied. */
  applyDuration: Histogram<"resource">;
  /** Requests refused before any job ran, by problem code (invalid_token, …). */
  rejected: Counter<"code">;
}

export function createMetrics(): ProvisionerMetrics {
  const registry = new Registry();
  return {
    registry,
    jobs: new Counter({
      name: "tenantry_provisioner_jobs_total",
      help: "Provisioning jobs handled, by job kind and outcome.",
      labelNames: ["kind", "outcome"],
      registers: [registry],
    }),
    applyDuration: new Histogram({
      name: "tenantry_provisioner_apply_duration_seconds",
      help: "Latency of one server-side apply request to the Kubernetes API.",
      labelNames: ["resource"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    rejected: new Counter({
      name: "tenantry_provisioner_rejected_requests_total",
      help: "Job requests refused before running, by problem code.",
      labelNames: ["code"],
      registers: [registry],
    }),
  };
}
