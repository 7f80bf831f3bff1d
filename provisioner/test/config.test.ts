import { describe, expect, it } from "vitest";
import { ConfigError, databasesOptions, parseEnv } from "../src/config";

const SECRET = "s".repeat(32);

describe("parseEnv", () => {
  it("needs PROVISIONER_SECRET and a cluster, and defaults the rest", () => {
    expect(parseEnv({ PROVISIONER_SECRET: SECRET, KUBECONFIG: "/k" })).toEqual({
      PROVISIONER_SECRET: SECRET,
      KUBECONFIG: "/k",
      PORT: 8080,
      HOST: "0.0.0.0",
      PROVISIONER_MODE: "live",
      PROVISIONER_TIMEOUT_MS: 10_000,
      DATABASE_PROVIDER: "none",
    });
  });

  it("names every missing or invalid variable", () => {
    expect(() => parseEnv({ PORT: "http", PROVISIONER_TIMEOUT_MS: "-1" })).toThrow(ConfigError);
    expect(() => parseEnv({ PORT: "http" })).toThrow(/PROVISIONER_SECRET is required; PORT/);
    expect(() =>
      parseEnv({ PROVISIONER_SECRET: SECRET, PROVISIONER_MODE: "dry-run", PROVISIONER_TIMEOUT_MS: "-1" }),
    ).toThrow(/PROVISIONER_TIMEOUT_MS/);
    expect(() => parseEnv({ PROVISIONER_SECRET: SECRET, PROVISIONER_MODE: "dry" })).toThrow(
      /PROVISIONER_MODE/,
    );
  });

  it("refuses a PROVISIONER_SECRET shorter than 32 bytes", () => {
    expect(() => parseEnv({ PROVISIONER_SECRET: "s".repeat(31), PROVISIONER_MODE: "dry-run" })).toThrow(
      "invalid provisioner environment: PROVISIONER_SECRET must be at least 32 bytes",
    );
    // Bytes, not characters: 16 two-byte characters are enough.
    expect(parseEnv({ PROVISIONER_SECRET: "é".repeat(16), PROVISIONER_MODE: "dry-run" })).toBeDefined();
  });

  it("refuses to run without a cluster unless PROVISIONER_MODE=dry-run", () => {
    for (const env of [{}, { PROVISIONER_MODE: "live" }, { KUBECONFIG: "" }]) {
      expect(() => parseEnv({ PROVISIONER_SECRET: SECRET, ...env })).toThrow(
        /no Kubernetes cluster configured: set KUBECONFIG or run in a pod .*PROVISIONER_MODE=dry-run/,
      );
    }
    expect(parseEnv({ PROVISIONER_SECRET: SECRET, PROVISIONER_MODE: "dry-run" })).toMatchObject({
      PROVISIONER_MODE: "dry-run",
    });
  });

  it("reads the cluster settings, the mode and the metrics token", () => {
    const env = parseEnv({
      PROVISIONER_SECRET: SECRET,
      PROVISIONER_MODE: "dry-run",
      KUBECONFIG: "/k",
      KUBERNETES_SERVICE_HOST: "10.0.0.1",
      METRICS_TOKEN: "metrics-token-0123456789",
    });
    expect(env).toMatchObject({
      PROVISIONER_MODE: "dry-run",
      KUBECONFIG: "/k",
      KUBERNETES_SERVICE_HOST: "10.0.0.1",
      METRICS_TOKEN: "metrics-token-0123456789",
    });
    expect(
      parseEnv({ PROVISIONER_SECRET: SECRET, KUBERNETES_SERVICE_HOST: "10.0.0.1" }).PROVISIONER_MODE,
    ).toBe("live");
    expect(() => parseEnv({ PROVISIONER_SECRET: SECRET, KUBECONFIG: "/k", METRICS_TOKEN: "short" })).toThrow(
      /METRICS_TOKEN must be at least 16 characters/,
    );
  });
});

describe("the database provider settings", () => {
  const base = { PROVISIONER_SECRET: SECRET, PROVISIONER_MODE: "dry-run" };
  const ADMIN = "postgres://owner:owner-secret@db:5432/postgres";
  const RUNTIME = "postgres://tenantry_app:runtime-secret@db:5432/tenantry";

  it("has none by default", () => {
    expect(databasesOptions(parseEnv(base))).toBeUndefined();
  });

  it("local needs the admin and runtime URLs, the runtime one with its credentials", () => {
    expect(() => parseEnv({ ...base, DATABASE_PROVIDER: "local" })).toThrow(
      /DATABASE_PROVIDER=local needs DATABASE_ADMIN_URL, DATABASE_RUNTIME_URL/,
    );
    const noPassword = "postgres://tenantry_app@db/tenantry";
    expect(() =>
      parseEnv({
        ...base,
        DATABASE_PROVIDER: "local",
        DATABASE_ADMIN_URL: ADMIN,
        DATABASE_RUNTIME_URL: noPassword,
      }),
    ).toThrow(/DATABASE_RUNTIME_URL must be a postgres:\/\/<role>:<password>/);
    const config = parseEnv({
      ...base,
      DATABASE_PROVIDER: "local",
      DATABASE_ADMIN_URL: ADMIN,
      DATABASE_RUNTIME_URL: RUNTIME,
    });
    expect(databasesOptions(config)).toEqual({ provider: "local", adminUrl: ADMIN, runtimeUrl: RUNTIME });
  });

  it("never repeats a URL it refuses, which may hold a password", () => {
    let message = "";
    try {
      parseEnv({ ...base, DATABASE_PROVIDER: "local", DATABASE_ADMIN_URL: "mysql://u:leaked-pw@h/d" });
    } catch (err) {
      message = String(err);
    }
    expect(message).toMatch(/DATABASE_ADMIN_URL must be a postgres:\/\/ URL/);
    expect(message).not.toContain("leaked-pw");
  });

  it("neon needs the API key and a password key of 32 bytes, and maps regions", () => {
    expect(() => parseEnv({ ...base, DATABASE_PROVIDER: "neon" })).toThrow(
      /needs NEON_API_KEY, DATABASE_PASSWORD_KEY/,
    );
    expect(() =>
      parseEnv({ ...base, DATABASE_PROVIDER: "neon", NEON_API_KEY: "k", DATABASE_PASSWORD_KEY: "short" }),
    ).toThrow(/DATABASE_PASSWORD_KEY must be at least 32 bytes/);
    expect(() => parseEnv({ ...base, NEON_REGIONS: "us-east" })).toThrow(/NEON_REGIONS/);
    const config = parseEnv({
      ...base,
      DATABASE_PROVIDER: "neon",
      NEON_API_KEY: "neon-key",
      NEON_API_URL: "http://127.0.0.1:9/api/v2",
      NEON_REGIONS: "us-east=aws-us-east-2,eu-central=aws-eu-central-1",
      DATABASE_PASSWORD_KEY: "p".repeat(32),
      DATABASE_MIGRATIONS_DIR: "/app/drizzle",
    });
    expect(databasesOptions(config)).toEqual({
      provider: "neon",
      apiKey: "neon-key",
      apiUrl: "http://127.0.0.1:9/api/v2",
      regions: { "us-east": "aws-us-east-2", "eu-central": "aws-eu-central-1" },
      passwordKey: "p".repeat(32),
      migrationsFolder: "/app/drizzle",
    });
  });
});
