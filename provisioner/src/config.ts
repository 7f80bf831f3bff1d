/**
 * Environment of the provisioner process, parsed once at startup so a missing secret or a
 * missing cluster is a clear startup error naming it rather than a 500 at the first job.
 */
import { z } from "zod";

/** HS256 keys shorter than the hash are guessable offline from one captured token. */
export const MIN_SECRET_BYTES = 32;
/** Like the Worker's METRICS_TOKEN. */
export const MIN_METRICS_TOKEN_LENGTH = 16;

const envSchema = z.object({
  PROVISIONER_SECRET: z
    .string({ error: "is required" })
    .min(1, "is required")
    .refine((secret) => Buffer.byteLength(secret, "utf8") >= MIN_SECRET_BYTES, {
      error: `must be at least ${MIN_SECRET_BYTES} bytes`,
    }),
  PORT: z.coerce.number().int().min(0).max(65_535).default(8080),
  HOST: z.string().min(1).default("0.0.0.0"),
  /** Path of a kubeconfig file. */
  KUBECONFIG: z.string().min(1).optional(),
  /** Set by Kubernetes in every pod: use the pod's service account. */
  KUBERNETES_SERVICE_HOST: z.string().min(1).optional(),
  /** `dry-run` applies nothing, with or without a cluster; the only way to run without one. */
  PROVISIONER_MODE: z.enum(["live", "dry-run"]).default("live"),
  PROVISIONER_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
  /** When set, `/metrics` requires `Authorization: Bearer <METRICS_TOKEN>`. */
  METRICS_TOKEN: z
    .string()
    .min(MIN_METRICS_TOKEN_LENGTH, `must be at least ${MIN_METRICS_TOKEN_LENGTH} characters`)
    .optional(),
});

export type ProvisionerEnv = z.infer<typeof envSchema>;

export class ConfigError extends Error {
  override name = "ConfigError";
}

export function parseEnv(env: Record<string, string | undefined>): ProvisionerEnv {
  const parsed = envSchema.safeParse(blankToUndefined(env));
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join(".")} ${issue.message}`);
    throw new ConfigError(`invalid provisioner environment: ${problems.join("; ")}`);
  }
  const config = parsed.data;
  if (config.PROVISIONER_MODE === "live" && !config.KUBECONFIG && !config.KUBERNETES_SERVICE_HOST) {
    throw new ConfigError(
      "no Kubernetes cluster configured: set KUBECONFIG or run in a pod (KUBERNETES_SERVICE_HOST); " +
        "PROVISIONER_MODE=dry-run runs without a cluster and applies nothing",
    );
  }
  return config;
}

/** An empty variable (`FOO=` in a shell or a manifest) means "not set", as in the Worker. */
function blankToUndefined(env: Record<string, string | undefined>): Record<string, string | undefined> {
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === "" ? undefined : v]));
}
