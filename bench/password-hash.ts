/**
 * `npx tsx bench/password-hash.ts` (and a section of `npm run bench`): what one password hash
 * costs inside workerd (Miniflare from node_modules), measured on the product's own code: argon2id
 * through `createArgon2id` (src/lib/argon2id.ts, m=19 MiB, t=2, p=1, the `.wasm` imported as a
 * CompiledWasm module) against PBKDF2-SHA256 through `hashPbkdf2` (src/lib/pbkdf2.ts, 100,000
 * iterations, the legacy scheme). One hash per request, in sequence, after warm-ups. Throws when
 * a correctness check fails (reference vectors, UTF-8 passwords, PBKDF2 against node:crypto).
 *
 * Two clocks: the Worker's own performance.now() around each hash (local workerd advances it during
 * synchronous work, in whole milliseconds; deployed Workers freeze it until the next I/O, so this
 * only works locally), and the workerd process's CPU time from /proc (Linux only; every thread,
 * minus an empty request's cost), summed over the samples and divided by their number.
 */
import { pbkdf2Sync } from "node:crypto";
import { loadavg } from "node:os";
import { convertV4MiniflareOptions, Miniflare } from "miniflare";
import { bundleWorkerModules, COMPATIBILITY_DATE } from "../dev/worker-server";
import { ARGON2ID_PARAMS } from "../src/lib/argon2id";
import {
  type CheckResult,
  type HashResult,
  PBKDF2_CHECK_PASSWORD,
  PBKDF2_ITERATIONS,
  type Scheme,
} from "./password-hash-worker/params";
import { processClock, workerdProcesses } from "./process-cpu";
import { percentile } from "./stats";

const ENTRY = "bench/password-hash-worker/index.ts";
const SAMPLES = Number(process.env.HASH_SAMPLES ?? 50);
const WARMUPS = 3;

export interface PasswordHashRow {
  scheme: string;
  parameters: string;
  /** Per hash, the Worker's performance.now() (whole milliseconds in local workerd). */
  median_ms: number;
  p95_ms: number;
  /** workerd's CPU time per hash (all threads, an empty request's cost taken off); null off Linux. */
  cpu_ms: number | null;
  /** The measured instance's WebAssembly linear memory after the samples (argon2id only). */
  wasm_memory_mib: number | null;
}

export interface PasswordHashReport {
  samples: number;
  warmups: number;
  /** 1-minute load average when the section started and when it ended. */
  load_average: { start: number; end: number };
  schemes: PasswordHashRow[];
  argon2id_over_pbkdf2: { median: number | null; cpu: number | null };
  notes: string[];
  seconds: number;
}

const round = (n: number) => Math.round(n * 10) / 10;
const hundredths = (n: number) => Math.round(n * 100) / 100;
const ratio = (a: number | null, b: number | null) => (a && b ? hundredths(a / b) : null);

/** Every way the product's hashing could be wrong, as messages; empty when all is well. */
function problems(check: CheckResult): string[] {
  const out: string[] = [];
  for (const v of check.vectors) {
    if (!v.verified) out.push(`argon2id reference vector not verified: ${v.encoded}`);
    if (!v.wrongRefused) out.push(`argon2id reference vector accepted a wrong password: ${v.encoded}`);
  }
  if (!check.current.verified) out.push(`a fresh argon2id hash does not verify: ${check.current.encoded}`);
  if (check.current.needsRehash) {
    out.push(`a fresh argon2id hash is not at passwords.ts's parameters: ${check.current.encoded}`);
  }
  if (!check.utf8.verifiesSame) out.push('argon2id hash of "€a" does not verify "€a"');
  if (!check.utf8.refusesOther) {
    out.push('UTF-8 truncation is back: the argon2id hash of "€a" verifies "€b" (they hash alike)');
  }
  const [scheme, iterations, salt = "", hash = ""] = check.pbkdf2.split("$");
  if (scheme !== "pbkdf2-sha256" || Number(iterations) !== PBKDF2_ITERATIONS) {
    out.push(`hashPbkdf2 is not PBKDF2-SHA256 at ${PBKDF2_ITERATIONS} iterations: ${check.pbkdf2}`);
  } else {
    const expected = pbkdf2Sync(
      PBKDF2_CHECK_PASSWORD,
      Buffer.from(salt, "base64"),
      PBKDF2_ITERATIONS,
      32,
      "sha256",
    );
    if (expected.toString("base64") !== hash) out.push("hashPbkdf2 in workerd disagrees with node:crypto");
  }
  if (!check.pbkdf2RoundTrip) out.push("verifyPbkdf2 does not round-trip hashPbkdf2");
  return out;
}

export async function measurePasswordHashing(): Promise<PasswordHashReport> {
  const started = Date.now();
  const loadStart = loadavg()[0] ?? 0;
  const before = await workerdProcesses();
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      modules: await bundleWorkerModules(ENTRY),
      compatibilityDate: COMPATIBILITY_DATE,
    }),
  );
  try {
    await mf.ready;
    const workerd = [...(await workerdProcesses())].find((pid) => !before.has(pid));
    const workerdCpu = processClock(workerd);
    const call = async <T>(path: string): Promise<T> => {
      const res = await mf.dispatchFetch(`http://bench${path}`);
      if (!res.ok) throw new Error(`password-hash bench ${path}: ${res.status} ${await res.text()}`);
      return (await res.json()) as T;
    };
    const run = async (scheme: Scheme) => {
      for (let i = 0; i < WARMUPS; i++) await call(`/hash?scheme=${scheme}`);
      const cpu0 = await workerdCpu.read();
      const results: HashResult[] = [];
      for (let i = 0; i < SAMPLES; i++) results.push(await call<HashResult>(`/hash?scheme=${scheme}`));
      const cpu1 = await workerdCpu.read();
      const cpuMs = cpu0 === null || cpu1 === null ? null : (cpu1 - cpu0) / SAMPLES;
      const sorted = results.map((r) => r.ms).sort((a, b) => a - b);
      return {
        median: percentile(sorted, 0.5),
        p95: percentile(sorted, 0.95),
        cpuMs,
        wasmMemoryBytes: results.at(-1)?.wasmMemoryBytes ?? null,
      };
    };

    const check = await call<CheckResult>("/check");
    const failed = problems(check);
    if (failed.length > 0) throw new Error(`password hashing is wrong:\n  ${failed.join("\n  ")}`);

    const empty = (await run("none")).cpuMs ?? 0;
    const pbkdf2 = await run("pbkdf2");
    const argon2id = await run("argon2id");
    const cpu = (ms: number | null) => (ms === null ? null : round(ms - empty));
    const { memoryKiB, passes, lanes, hashBytes, saltBytes } = ARGON2ID_PARAMS;
    const schemes: PasswordHashRow[] = [
      {
        scheme: "PBKDF2-SHA256 (hashPbkdf2, legacy)",
        parameters: `${PBKDF2_ITERATIONS} iterations, 32 B hash, 16 B salt`,
        median_ms: round(pbkdf2.median),
        p95_ms: round(pbkdf2.p95),
        cpu_ms: cpu(pbkdf2.cpuMs),
        wasm_memory_mib: null,
      },
      {
        scheme: "argon2id (createArgon2id, current)",
        parameters: `m=${memoryKiB} KiB, t=${passes}, p=${lanes}, ${hashBytes} B hash, ${saltBytes} B salt`,
        median_ms: round(argon2id.median),
        p95_ms: round(argon2id.p95),
        cpu_ms: cpu(argon2id.cpuMs),
        wasm_memory_mib: argon2id.wasmMemoryBytes === null ? null : round(argon2id.wasmMemoryBytes / 2 ** 20),
      },
    ];
    const [p, a] = schemes as [PasswordHashRow, PasswordHashRow];
    const notes = [
      `argon2id verified ${check.vectors.length} reference vectors (phc-winner-argon2 test.c) and refused wrong passwords; "€a" and "€b" hash differently; hashPbkdf2 matched node:crypto`,
      check.packageClassTruncates
        ? `for comparison, @phi-ag/argon2's own Argon2 class still hashes "€a" and "€b" alike (UTF-16 length as byte length): src/lib/argon2id.ts avoids it`
        : "@phi-ag/argon2's own Argon2 class no longer truncates UTF-8 passwords",
      workerd
        ? `an empty request costs workerd ${round(empty)} ms of CPU (taken off)`
        : "no /proc: workerd CPU time not measured",
    ];
    return {
      samples: SAMPLES,
      warmups: WARMUPS,
      load_average: { start: hundredths(loadStart), end: hundredths(loadavg()[0] ?? 0) },
      schemes,
      argon2id_over_pbkdf2: { median: ratio(a.median_ms, p.median_ms), cpu: ratio(a.cpu_ms, p.cpu_ms) },
      notes,
      seconds: round((Date.now() - started) / 1000),
    };
  } finally {
    await mf.dispose();
  }
}

/** The console form, used alone and by `npm run bench`. */
export function printPasswordHashing(report: PasswordHashReport): void {
  console.table(
    report.schemes.map((r) => ({
      scheme: r.scheme,
      parameters: r.parameters,
      "median ms": r.median_ms,
      "p95 ms": r.p95_ms,
      "CPU ms/hash": r.cpu_ms ?? "-",
      "wasm memory MiB": r.wasm_memory_mib ?? "-",
    })),
  );
  const { median, cpu } = report.argon2id_over_pbkdf2;
  console.log(`argon2id ÷ PBKDF2: ${median ?? "-"} (median), ${cpu ?? "-"} (CPU)`);
  console.log(
    `${report.samples} hashes per scheme after ${report.warmups} warm-ups; load average ${report.load_average.start} → ${report.load_average.end}; ${report.seconds} s`,
  );
  for (const note of report.notes) console.log(`note: ${note}`);
}

/** The "Password hashing" part of bench/RESULTS.md. */
export function passwordHashingMarkdown(report: PasswordHashReport): string[] {
  const { median, cpu } = report.argon2id_over_pbkdf2;
  return [
    "## Password hashing",
    "",
    `One hash per request inside workerd (Miniflare), through the product's own \`createArgon2id\` and \`hashPbkdf2\`; ${report.samples} hashes per scheme after ${report.warmups} warm-ups, load average ${report.load_average.start} → ${report.load_average.end}. Time is the Worker's \`performance.now()\` (whole ms locally); CPU is the workerd process's, per hash, an empty request's cost taken off. Alone: \`npx tsx bench/password-hash.ts\`.`,
    "",
    "| scheme | parameters | median ms | p95 ms | CPU ms/hash | wasm memory MiB |",
    "|---|---|---:|---:|---:|---:|",
    ...report.schemes.map(
      (r) =>
        `| ${r.scheme} | ${r.parameters} | ${r.median_ms} | ${r.p95_ms} | ${r.cpu_ms ?? "–"} | ${r.wasm_memory_mib ?? "–"} |`,
    ),
    "",
    `argon2id ÷ PBKDF2: ${median ?? "–"} (median), ${cpu ?? "–"} (CPU).`,
    "",
    ...report.notes.map((note) => `- ${note}`),
    "",
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  printPasswordHashing(await measurePasswordHashing());
}
