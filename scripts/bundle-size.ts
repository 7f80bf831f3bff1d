/**
 * Builds the Worker exactly as `wrangler deploy` would (`--dry-run --minify`, for one
 * wrangler environment), prints the size of every module it uploads — the main module and
 * the argon2 .wasm it imports — raw and gzipped, and fails when the compressed total is
 * over Cloudflare's Worker size limit.
 *
 *   npm run bundle-size                       # production, Workers Paid limit
 *   npm run bundle-size -- --env staging --plan free
 *
 * Cloudflare limits the compressed size of the whole upload: 3 MiB on Workers Free,
 * 10 MiB on Workers Paid. Tenantry needs Workers Paid (a password hash alone is over the
 * Free plan's 10 ms CPU per request), so the Paid limit is the default; the headroom
 * under the Free limit is printed either way.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { extname, join } from "node:path";
import { parseArgs } from "node:util";
import { gzipSync } from "node:zlib";

const MIB = 1024 * 1024;
const LIMITS = { free: 3 * MIB, paid: 10 * MIB } as const;
type Plan = keyof typeof LIMITS;
/** What wrangler writes next to the modules and never uploads. */
const NOT_UPLOADED = new Set([".map", ".md"]);

interface ModuleSize {
  name: string;
  raw: number;
  gzip: number;
}

const { values } = parseArgs({
  options: {
    env: { type: "string", default: "production" },
    plan: { type: "string", default: "paid" },
  },
});

const outdir = mkdtempSync(join(tmpdir(), "tenantry-bundle-"));
try {
  const plan = values.plan;
  if (!isPlan(plan)) throw new Error(`--plan must be one of ${Object.keys(LIMITS).join(", ")}`);
  report(build(values.env, outdir), values.env, plan);
} catch (error) {
  console.error(`bundle-size: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
} finally {
  rmSync(outdir, { recursive: true, force: true });
}

/** Runs wrangler's dry-run deploy into `outdir` and measures every module it would upload. */
function build(env: string, outdir: string): ModuleSize[] {
  const run = spawnSync("wrangler", ["deploy", "--dry-run", "--env", env, "--minify", "--outdir", outdir], {
    stdio: "inherit",
    env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
  });
  if (run.error) throw new Error(`could not run wrangler (run this through npm run): ${run.error.message}`);
  if (run.status !== 0) throw new Error(`wrangler deploy --dry-run --env ${env} failed`);
  const modules = readdirSync(outdir)
    .filter((name) => !NOT_UPLOADED.has(extname(name)))
    .sort((a, b) => Number(extname(a) !== ".js") - Number(extname(b) !== ".js") || a.localeCompare(b))
    .map((name): ModuleSize => {
      const bytes = readFileSync(join(outdir, name));
      return { name, raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
    });
  if (!modules.some((m) => extname(m.name) === ".js")) throw new Error(`wrangler wrote no main module`);
  return modules;
}

/** Prints the sizes and throws when the compressed total is over the plan's limit. */
function report(modules: ModuleSize[], env: string, plan: Plan): void {
  const total: ModuleSize = {
    name: "total upload",
    raw: modules.reduce((sum, m) => sum + m.raw, 0),
    gzip: modules.reduce((sum, m) => sum + m.gzip, 0),
  };
  console.log(`\nWorker bundle (--env ${env}, minified):`);
  for (const m of [...modules, total]) {
    console.log(`  ${m.name.padEnd(56)} ${kib(m.raw).padStart(12)} raw ${kib(m.gzip).padStart(12)} gzip`);
  }
  for (const [name, limit] of Object.entries(LIMITS)) {
    const used = ((total.gzip / limit) * 100).toFixed(1);
    console.log(`  Workers ${name} limit, ${limit / MIB} MiB gzip: ${used}% used`);
  }
  if (total.gzip > LIMITS[plan]) {
    throw new Error(`${kib(total.gzip)} gzip is over the Workers ${plan} limit of ${LIMITS[plan] / MIB} MiB`);
  }
  console.log(`  within the Workers ${plan} limit (checked)`);
}

function isPlan(value: string): value is Plan {
  return Object.hasOwn(LIMITS, value);
}

function kib(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KiB`;
}
