import { describe, expect, it } from "vitest";
import { ConfigError, parseEnv } from "../src/config";

describe("parseEnv", () => {
  it("needs only PROVISIONER_SECRET and defaults the rest", () => {
    expect(parseEnv({ PROVISIONER_SECRET: "s" })).toEqual({
      PROVISIONER_SECRET: "s",
      PORT: 8080,
      HOST: "0.0.0.0",
      PROVISIONER_DRY_RUN: false,
      PROVISIONER_TIMEOUT_MS: 10_000,
    });
  });

  it("names every missing or invalid variable", () => {
    expect(() => parseEnv({ PORT: "http", PROVISIONER_TIMEOUT_MS: "-1" })).toThrow(ConfigError);
    expect(() => parseEnv({ PORT: "http" })).toThrow(/PROVISIONER_SECRET is required; PORT/);
    expect(() => parseEnv({ PROVISIONER_SECRET: "s", PROVISIONER_TIMEOUT_MS: "-1" })).toThrow(
      /PROVISIONER_TIMEOUT_MS/,
    );
  });

  it("reads the dry-run switch and the cluster settings", () => {
    const env = parseEnv({
      PROVISIONER_SECRET: "s",
      PROVISIONER_DRY_RUN: "1",
      KUBECONFIG: "/k",
      KUBERNETES_SERVICE_HOST: "10.0.0.1",
    });
    expect(env).toMatchObject({
      PROVISIONER_DRY_RUN: true,
      KUBECONFIG: "/k",
      KUBERNETES_SERVICE_HOST: "10.0.0.1",
    });
  });
});
