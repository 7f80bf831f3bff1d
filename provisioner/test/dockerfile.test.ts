import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

const read = (path: string) => readFileSync(new URL(path, import.meta.url), "utf8");
const dockerfile = read("../Dockerfile");
const dockerignore = read("../Dockerfile.dockerignore").split("\n");
/** Every instruction in file order, so tests can check what happens before what. */
const steps = [...dockerfile.matchAll(/^([A-Z]+)\s+(.+)$/gm)].map((m) => `${m[1]} ${m[2]?.trim()}`);
const instructions = (name: string) =>
  steps.filter((step) => step.startsWith(`${name} `)).map((step) => step.slice(name.length + 1));
const stepIndex = (pattern: RegExp) => steps.findIndex((step) => pattern.test(step));

/** The repository's workspace folders the provisioner depends on (`@tenantry/contract`, …). */
function workspaceDependencies(): string[] {
  const root = JSON.parse(read("../../package.json")) as { workspaces: string[] };
  const own = JSON.parse(read("../package.json")) as { dependencies: Record<string, string> };
  return root.workspaces.filter((dir) => {
    const { name } = JSON.parse(read(`../../${dir}/package.json`)) as { name: string };
    return name in own.dependencies;
  });
}

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

  it("copies each workspace the provisioner depends on: its package.json before npm ci, its source before the build", () => {
    const dirs = workspaceDependencies();
    expect(dirs).toContain("packages/contract");
    const install = stepIndex(/^RUN npm ci\b/);
    const build = stepIndex(/^RUN npm run build\b/);
    for (const dir of dirs) {
      const manifest = stepIndex(new RegExp(`^COPY ${dir}/package\\.json ${dir}/$`));
      const source = stepIndex(new RegExp(`^COPY ${dir}/ ${dir}/$`));
      expect(manifest, `COPY ${dir}/package.json`).toBeGreaterThanOrEqual(0);
      expect(manifest).toBeLessThan(install);
      expect(source, `COPY ${dir}/`).toBeGreaterThan(install);
      expect(source).toBeLessThan(build);
      // The build context admits them (everything else is ignored).
      expect(dockerignore).toEqual(expect.arrayContaining([`!${dir}/package.json`, `!${dir}/src/`]));
    }
  });
});
