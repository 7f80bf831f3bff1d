/**
 * CPU time of the processes this benchmark starts, from /proc (Linux only; elsewhere every
 * function answers "unknown"): workerd (one process per Miniflare instance) and Postgres (the
 * postmaster and its backends). Read before and after a scenario, the difference divided by
 * the scenario's requests is the CPU each request cost there.
 */
import { readdir, readFile } from "node:fs/promises";

/** Clock ticks per second of /proc/PID/stat's time fields (USER_HZ, 100 on Linux). */
const TICKS_PER_SECOND = 100;

/** The direct children of `pid` (every thread's), or none off Linux. */
async function childrenOf(pid: number | "self"): Promise<number[]> {
  const tasks = await readdir(`/proc/${pid}/task`).catch(() => []);
  const children: number[] = [];
  for (const task of tasks) {
    const list = await readFile(`/proc/${pid}/task/${task}/children`, "utf8").catch(() => "");
    for (const child of list.split(" ").filter(Boolean)) children.push(Number(child));
  }
  return children;
}

async function commandOf(pid: number): Promise<string> {
  return (await readFile(`/proc/${pid}/comm`, "utf8").catch(() => "")).trim();
}

/** Every process below this one whose command name is `name`, outermost first. */
export async function descendantsNamed(name: string): Promise<number[]> {
  const found: number[] = [];
  const pending = await childrenOf("self");
  for (let pid = pending.shift(); pid !== undefined; pid = pending.shift()) {
    if ((await commandOf(pid)) === name) found.push(pid);
    pending.push(...(await childrenOf(pid)));
  }
  return found;
}

/** This process's workerd children (one per Miniflare instance). */
export async function workerdProcesses(): Promise<Set<number>> {
  return new Set(await descendantsNamed("workerd"));
}

/** Nanoseconds on CPU of every live thread of `pid` (/proc/PID/task/TID/schedstat), 0 if gone. */
async function liveCpuNs(pid: number): Promise<number> {
  let total = 0;
  for (const task of await readdir(`/proc/${pid}/task`).catch(() => [])) {
    const stat = await readFile(`/proc/${pid}/task/${task}/schedstat`, "utf8").catch(() => "0");
    total += Number(stat.split(" ")[0]);
  }
  return total;
}

/** User + system time of `pid`'s children that have exited and been waited for, in ns. */
async function reapedChildrenCpuNs(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
  // Fields after the command name (which may hold spaces) start at field 3; cutime and
  // cstime are fields 16 and 17.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[13] ?? 0) + Number(fields[14] ?? 0);
  return (ticks / TICKS_PER_SECOND) * 1e9;
}

/** A CPU clock over some processes: `read()` gives their total CPU time so far in ms, or null. */
export interface CpuClock {
  read(): Promise<number | null>;
}

/** The CPU time of one process (all its threads), e.g. a workerd; null when unknown. */
export function processClock(pid: number | undefined): CpuClock {
  return {
    read: async () => (pid === undefined ? null : (await liveCpuNs(pid)) / 1e6),
  };
}

/**
 * Postgres's CPU time: the postmaster and every live backend, plus the backends that have
 * exited (their time moves into the postmaster's cutime/cstime when it reaps them, so a
 * connection opened and closed within a scenario still counts).
 */
export async function postgresClock(): Promise<CpuClock> {
  const [postmaster] = await descendantsNamed("postgres");
  if (postmaster === undefined) return { read: async () => null };
  return {
    read: async () => {
      let ns = (await liveCpuNs(postmaster)) + (await reapedChildrenCpuNs(postmaster));
      for (const backend of await childrenOf(postmaster)) ns += await liveCpuNs(backend);
      return ns / 1e6;
    },
  };
}
