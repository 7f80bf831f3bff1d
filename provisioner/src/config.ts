/**
 * Environment of the provisioner process, parsed once at startup so a missing secret or a
 * missing cluster is a clear startup error naming it rather than a 500 at the first job.
 */
import { z } from "zod";
import type { DatabasesOptions } from "./databases/configure";

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
  /** Where dedicated tenant databases come from; `none` answers /v1/databases with 503. */
  DATABASE_PROVIDER: z.enum(["none", "local", "neon"]).default("none"),
  /** local: an owner URL of the Postgres server the databases are created in. */
  DATABASE_ADMIN_URL: postgresUrl().optional(),
  /** local: the runtime role's URL on that server, with its password. */
  DATABASE_RUNTIME_URL: postgresUrl({ credentials: true }).optional(),
  NEON_API_KEY: z.string().min(1).optional(),
  /** Neon's API by default; another base URL (a stand-in) in tests. */
  NEON_API_URL: z.url({ protocol: /^https?$/, error: "must be an http(s) URL" }).optional(),
  /** `us-east=aws-us-east-2,eu-central=aws-eu-central-1`. */
  NEON_REGIONS: z
    .string()
    .regex(
      /^[a-z0-9-]+=[a-z0-9-]+(,[a-z0-9-]+=[a-z0-9-]+)*$/,
      "must be region=neon-region-id pairs, comma-separated",
    )
    .optional(),
  /** neon: the key the runtime role's password is derived from, per project. */
  DATABASE_PASSWORD_KEY: z
    .string()
    .refine((key) => Buffer.byteLength(key, "utf8") >= MIN_SECRET_BYTES, {
      error: `must be at least ${MIN_SECRET_BYTES} bytes`,
    })
    .optional(),
  /** The `drizzle/` folder; the image sets it, the source tree finds its own. */
  DATABASE_MIGRATIONS_DIR: z.string().min(1).optional(),
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
  databasesOptions(config);
  return config;
}

/** The database provider DATABASE_PROVIDER names, with what it needs; undefined for `none`. */
export function databasesOptions(config: ProvisionerEnv): DatabasesOptions | undefined {
  const migrationsFolder = config.DATABASE_MIGRATIONS_DIR;
  const require = (names: (keyof ProvisionerEnv)[]) => {
    const missing = names.filter((name) => config[name] === undefined);
    if (missing.length > 0) {
      throw new ConfigError(
        `invalid provisioner environment: DATABASE_PROVIDER=${config.DATABASE_PROVIDER} needs ${missing.join(", ")}`,
      );
    }
  };
  switch (config.DATABASE_PROVIDER) {
    case "none":
      return undefined;
    case "local":
      require(["DATABASE_ADMIN_URL", "DATABASE_RUNTIME_URL"]);
      return {
        provider: "local",
        adminUrl: config.DATABASE_ADMIN_URL as string,
        runtimeUrl: config.DATABASE_RUNTIME_URL as string,
        migrationsFolder,
      };
    case "neon":
      require(["NEON_API_KEY", "DATABASE_PASSWORD_KEY"]);
      return {
        provider: "neon",
        apiKey: config.NEON_API_KEY as string,
        apiUrl: config.NEON_API_URL,
        regions: config.NEON_REGIONS === undefined ? undefined : parseRegions(config.NEON_REGIONS),
        passwordKey: config.DATABASE_PASSWORD_KEY as string,
        migrationsFolder,
      };
  }
}

function parseRegions(text: string): Record<string, string> {
  return Object.fromEntries(text.split(",").map((pair) => pair.split("=") as [string, string]));
}

/** A postgres:// URL; the message never repeats the value, which may hold a password. */
function postgresUrl(opts: { credentials?: boolean } = {}) {
  return z.string().refine(
    (text) => {
      try {
        const url = new URL(text);
        const scheme = url.protocol === "postgres:" || url.protocol === "postgresql:";
        return scheme && (!opts.credentials || (url.username !== "" && url.password !== ""));
      } catch {
        return false;
      }
    },
    {
      error: opts.credentials
        ? "must be a postgres://<role>:<password>@<host>/<database> URL"
        : "must be a postgres:// URL",
    },
  );
}

/** An empty variable (`FOO=` in a shell or a manifest) means "not set", as in the Worker. */
function blankToUndefined(env: Record<string, string | undefined>): Record<string, string | undefined> {
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === "" ? undefined : v]));
}
