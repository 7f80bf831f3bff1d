/**
 * `POST /v1/jobs`: the body the Worker sends for one delivery of a provisioning job, and the
 * provisioner's 200 answer (provisioner/README.md, "HTTP API").
 */
import { z } from "zod";
import { SLUG_PATTERN } from "./namespaces";
import { MAX_NAMESPACE_AMOUNT, PLANS } from "./plans";

export const JOB_KINDS = ["provision", "suspend", "resume", "update_quota", "deprovision"] as const;
export type JobKind = (typeof JOB_KINDS)[number];

// Bounded so every number prints as a plain Kubernetes quantity (never "1e+21").
const amount = z.number().nonnegative().max(MAX_NAMESPACE_AMOUNT);

export const jobRequestSchema = z.object({
  job: z.object({
    id: z.uuid(),
    kind: z.enum(JOB_KINDS),
    attempt: z.number().int().min(1),
  }),
  tenant: z.object({
    id: z.uuid(),
    slug: z.string().regex(SLUG_PATTERN, "must be a tenant slug"),
    plan: z.enum(PLANS),
    quotas: z.object({
      cpu_cores: amount,
      memory_gb: amount,
      storage_gb: amount,
      gpus: amount.int(),
    }),
  }),
});

export type JobRequest = z.infer<typeof jobRequestSchema>;

/**
 * `dry_run`: nothing reached a cluster. `terminating` and `gone` answer a deprovision: the
 * namespace is still being deleted, or no longer exists.
 */
export const JOB_RESPONSE_STATUSES = ["succeeded", "dry_run", "terminating", "gone"] as const;
export type JobResponseStatus = (typeof JOB_RESPONSE_STATUSES)[number];

export const objectRefSchema = z.object({
  apiVersion: z.string(),
  kind: z.string(),
  name: z.string(),
  namespace: z.string().optional(),
});

export type ObjectRef = z.infer<typeof objectRefSchema>;

export const jobResponseSchema = z.object({
  job_id: z.string(),
  status: z.enum(JOB_RESPONSE_STATUSES),
  namespace: z.string(),
  /** What the job applied, and what it deleted because the current render no longer has it. */
  applied: z.array(objectRefSchema),
  pruned: z.array(objectRefSchema),
});

export type JobResponse = z.infer<typeof jobResponseSchema>;
