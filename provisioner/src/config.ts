/**
 * Environment of the provisioner process, parsed once at startup so a missing secret is a
 * clear startup error naming it rather than a 500 at the first job.
 */
import { z } from "zod";

const envSchema = z.object({
  PROVISIONER_SECRET: z.string({ error: "is required" }).min(1, "is required"),
  PORT: z.coerce.number().int().min(0).max(65_535).default(8080),
  HOST: z.string().min(1).default("0.0.0.0"),
  /** Path of a kubeconfig file. Without it (and outside a cluster) the provisioner runs dry. */
  KUBECONFIG: z.string().min(1).optional(),
  /** Set by Kubernetes in every pod: use the pod's service account. */
  KUBERNETES_SERVICE_HOST: z.string().min(1).optional(),
  PROVISIONER_DRY_RUN: z
    .enum(["true", "false", "1", "0"])
    .optional()
    .transform((value) => value === "true" || value === "1"),
  PROVISIONER_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
});

export type ProvisionerEnv = z.infer<typeof envSchema>;

export class ConfigError extends Error {
  override name = "ConfigError";
}

export function parseEnv(env: Record<string, string | undefined>): ProvisionerEnv {
  const parsed = envSchema.safeParse(env);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => `${issue.path.join(".")} ${issue.message}`);
  throw new ConfigError(`invalid provisioner environment: ${problems.join("; ")}`);
}
