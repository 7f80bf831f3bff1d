/**
 * `tenantry-provisioner render <slug>` prints a tenant's manifests as multi-document YAML
 * (for review, or `| kubectl apply --server-side -f -`); `serve` runs the HTTP service.
 */
import { parseArgs } from "node:util";
import { namespaceQuotas, PLAN_QUOTAS, PLANS, SLUG_PATTERN } from "@tenantry/contract";
import { z } from "zod";
import { ConfigError } from "./config";
import { main } from "./main";
import { renderTenant, toYaml } from "./manifests";

export const USAGE = `usage:
  tenantry-provisioner render <slug> [--plan ${PLANS.join("|")}] [--tenant-id <uuid>] [--suspended]
  tenantry-provisioner serve   (env: PROVISIONER_SECRET, PORT, HOST, KUBECONFIG, PROVISIONER_MODE=live|dry-run, PROVISIONER_TIMEOUT_MS, METRICS_TOKEN,
                                DATABASE_PROVIDER=none|local|neon and its variables: see README)
`;

/** A placeholder owner for rendering without a real tenant; clearly not a generated id. */
const EXAMPLE_TENANT_ID = "00000000-0000-4000-8000-000000000000";

export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
}

const processIo: CliIo = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

/** Resolves to an exit code, or undefined while `serve` keeps the process running. */
export async function runCli(argv: string[], io: CliIo = processIo): Promise<number | undefined> {
  const [command, ...rest] = argv;
  try {
    if (command === "render") {
      io.out(render(rest));
      return 0;
    }
    if (command === "serve") {
      await main();
      return undefined;
    }
    io.err(USAGE);
    return command === undefined || command === "help" || command === "--help" ? 0 : 2;
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`${err.message}\n${USAGE}`);
      return 2;
    }
    if (err instanceof ConfigError) {
      io.err(`${JSON.stringify({ level: "error", msg: err.message })}\n`);
      return 1;
    }
    throw err;
  }
}

class UsageError extends Error {}

function render(args: string[]): string {
  let options: ReturnType<typeof parseRenderArgs>;
  try {
    options = parseRenderArgs(args);
  } catch (err) {
    // node:util parseArgs throws TypeErrors for unknown or malformed options.
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  const { slug, plan, tenantId, suspended } = options;
  return toYaml(
    renderTenant({ id: tenantId, slug, plan, quotas: namespaceQuotas(PLAN_QUOTAS[plan]) }, { suspended }),
  );
}

function parseRenderArgs(args: string[]) {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      plan: { type: "string", default: "free" },
      "tenant-id": { type: "string", default: EXAMPLE_TENANT_ID },
      suspended: { type: "boolean", default: false },
    },
  });
  const [slug, ...extra] = positionals;
  const plan = PLANS.find((name) => name === values.plan);
  if (!slug || extra.length > 0) throw new Error("render takes exactly one slug");
  if (!SLUG_PATTERN.test(slug)) throw new Error(`"${slug}" is not a valid tenant slug`);
  if (!plan) throw new Error(`--plan must be one of ${PLANS.join(", ")}`);
  if (!z.uuid().safeParse(values["tenant-id"]).success) throw new Error("--tenant-id must be a uuid");
  return { slug, plan, tenantId: values["tenant-id"], suspended: values.suspended };
}
