import { describe, expect, it } from "vitest";
import { ConfigError, parseEnv } from "../src/config";

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
