import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

const dockerfile = readFileSync(new URL("../Dockerfile", import.meta.url), "utf8");
const instructions = (name: string) =>
  [...dockerfile.matchAll(new RegExp(`^${name}\\s+(.+)$`, "gm"))].map((m) => m[1]?.trim() ?? "");

describe("provisioner/Dockerfile", () => {
  it("pins every base image to an exact Node 22 patch on a named Debian release", () => {
    const bases = instructions("FROM").map((from) => from.split(/\s+/)[0]);
    expect(bases.length).toBeGreaterThan(0);
    for (const base of bases) {
      expect(base).toMatch(/^node:22\.\d+\.\d+-(bookworm|trixie)-slim(@sha256:[0-9a-f]{64})?$/);
    }
  });

  it("installs exactly the lockfile's versions with npm ci", () => {
    const installs = instructions("RUN").filter((run) => /\bnpm (ci|install|i)\b/.test(run));
    expect(installs).toEqual([expect.stringMatching(/^npm ci\b/)]);
  });
});
