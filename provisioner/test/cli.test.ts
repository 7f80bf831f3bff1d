import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { PACKAGE_VERSION } from "./support/jobs-fixture";

const BIN = fileURLToPath(new URL("../bin/tenantry-provisioner.js", import.meta.url));
const children: ChildProcess[] = [];

afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
});

/** The environment of a machine with no cluster: no kubeconfig, not inside a pod. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const {
    KUBECONFIG: _k,
    KUBERNETES_SERVICE_HOST: _h,
    PROVISIONER_SECRET: _s,
    PROVISIONER_MODE: _m,
    METRICS_TOKEN: _t,
    ...env
  } = process.env;
  return { ...env, ...extra };
}

function start(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [BIN, ...args], { env: cleanEnv(env) });
  children.push(child);
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk) => {
    stdout += chunk;
  });
  child.stderr.on("data", (chunk) => {
    stderr += chunk;
  });
  const exited = once(child, "exit").then(([code]) => ({ code: code as number | null, stdout, stderr }));
  return { child, exited, stdout: () => stdout };
}

describe("tenantry-provisioner render", () => {
  it("prints the tenant's manifests as multi-document YAML", async () => {
    const tenantId = "2c5e8f1a-3b4d-4e6f-8a9b-0c1d2e3f4a5b";
    const { code, stdout } = await start(["render", "acme", "--plan", "pro", "--tenant-id", tenantId]).exited;
    expect(code).toBe(0);
    const docs = parseAllDocuments(stdout).map((doc) => doc.toJS());
    expect(docs.map((doc) => doc.kind)).toEqual([
      "Namespace",
      "ResourceQuota",
      "LimitRange",
      "NetworkPolicy",
      "ServiceAccount",
      "RoleBinding",
    ]);
    expect(docs[0].metadata.name).toBe("tenant-acme");
    expect(docs[0].metadata.labels["tenant-id"]).toBe(tenantId);
    expect(docs[1].spec.hard["requests.cpu"]).toBe("64");
    expect(docs[1].spec.hard).not.toHaveProperty("pods");
  });

  it("renders the suspended form on request", async () => {
    const { code, stdout } = await start(["render", "acme", "--suspended"]).exited;
    expect(code).toBe(0);
    const quota = parseAllDocuments(stdout)[1]?.toJS();
    expect(quota.spec.hard).toMatchObject({ pods: "0", "requests.cpu": "4" });
  });

  it("exits 2 with usage for an invalid slug or plan", async () => {
    const badSlug = await start(["render", "Not_A_Slug"]).exited;
    expect(badSlug.code).toBe(2);
    expect(badSlug.stderr).toContain("is not a valid tenant slug");
    expect(badSlug.stderr).toContain("usage:");
    const badPlan = await start(["render", "acme", "--plan", "platinum"]).exited;
    expect(badPlan.code).toBe(2);
    expect(badPlan.stderr).toContain("--plan must be one of free, basic, pro, enterprise");
  });
});

describe("tenantry-provisioner serve", () => {
  const SECRET = "cli-test-secret-0123456789abcdefghij";

  it("exits 1 naming PROVISIONER_SECRET when it is missing or shorter than 32 bytes", async () => {
    const missing = await start(["serve"], { PORT: "0", PROVISIONER_MODE: "dry-run" }).exited;
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("PROVISIONER_SECRET is required");
    const short = await start(["serve"], {
      PORT: "0",
      PROVISIONER_MODE: "dry-run",
      PROVISIONER_SECRET: "cli-test-secret",
    }).exited;
    expect(short.code).toBe(1);
    expect(short.stderr).toContain("PROVISIONER_SECRET must be at least 32 bytes");
  });

  it("exits 1 without a cluster unless dry-run is asked for", async () => {
    const { code, stdout, stderr } = await start(["serve"], { PROVISIONER_SECRET: SECRET, PORT: "0" }).exited;
    expect(code).toBe(1);
    expect(stderr).toContain("no Kubernetes cluster configured");
    expect(stderr).toContain("PROVISIONER_MODE=dry-run");
    expect(stdout).not.toContain("provisioner listening");
  });

  it("serves in dry-run mode with PROVISIONER_MODE=dry-run and stops cleanly on SIGTERM", async () => {
    const proc = start(["serve"], {
      PROVISIONER_SECRET: SECRET,
      PROVISIONER_MODE: "dry-run",
      PORT: "0",
      HOST: "127.0.0.1",
    });
    const listening = await waitForLine(proc.stdout, (line) => line.msg === "provisioner listening");
    expect(listening).toMatchObject({ mode: "dry_run", version: PACKAGE_VERSION });
    const health = await fetch(`http://127.0.0.1:${listening.port}/healthz`);
    expect(health.status).toBe(200);

    proc.child.kill("SIGTERM");
    const { code, stdout } = await proc.exited;
    expect(code).toBe(0);
    expect(stdout).toContain('"msg":"stopping","signal":"SIGTERM"');
  });
});

async function waitForLine(
  read: () => string,
  predicate: (line: Record<string, unknown>) => boolean,
): Promise<Record<string, unknown>> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    for (const text of read().split("\n")) {
      if (!text.startsWith("{")) continue;
      const line = JSON.parse(text) as Record<string, unknown>;
      if (predicate(line)) return line;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`no matching log line in: ${read()}`);
}
