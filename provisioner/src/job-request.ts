/**
 * The body of `POST /v1/jobs`, as the Worker sends it. The slug rule is the tenants' (see the
 * repository's docs/architecture.md, "Tenancy rules"), so a
 * valid slug always yields a valid namespace name (`tenant-` + at most 40 characters).
 */
import { z } from "zod";
import { PLANS } from "./plans";

export const JOB_KINDS = ["provision", "suspend", "resume", "update_quota", "deprovision"] as const;
export type JobKind = (typeof JOB_KINDS)[number];

export const SLUG_PATTERN = /^[a-z0-9](?:[a-z0-9-]{1,38}[a-z0-9])$/;

// Bounded so every number prints as a plain Kubernetes quantity (never "1e+21").
const amount = z.number().nonnegative().max(1_000_000);

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
