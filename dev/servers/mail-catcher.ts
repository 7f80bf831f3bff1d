/**
 * The local mail catcher: maildev (npm), an SMTP server that keeps every message it receives
 * and shows them in a web UI with an HTTP API (`GET /api/email`). The Worker sends to it over
 * plain SMTP (`SMTP_SECURITY=none`, development only); `npm run dev` runs it on 1025/1080,
 * tests on free ports. Both listen on 127.0.0.1 only, and each instance keeps its messages in a
 * directory of its own (maildev's default is one shared folder under the OS temp dir).
 */

import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { createRequire } from "node:module";
import { join } from "node:path";
import { freePort } from "../free-port";
import { stopChild } from "./child-process";

export interface MailCatcher {
  smtpPort: number;
  webPort: number;
  /** The web UI and its HTTP API (`/api/email`). */
  webUrl: string;
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 5_000;

export async function startMailCatcher(opts: {
  /** Where messages are kept (created if missing). */
  dir: string;
  smtpPort?: number;
  webPort?: number;
  log?: (line: string) => void;
}): Promise<MailCatcher> {
  const smtpPort = opts.smtpPort ?? (await freePort());
  const webPort = opts.webPort ?? (await freePort());
  await mkdir(opts.dir, { recursive: true });
  const bin = maildevBin();
  const child = spawn(
    process.execPath,
    [
      bin,
      "--smtp",
      String(smtpPort),
      "--web",
      String(webPort),
      "--ip",
      "127.0.0.1",
      "--web-ip",
      "127.0.0.1",
      "--mail-directory",
      opts.dir,
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString("utf8")).slice(-4096);
    for (const line of chunk.toString("utf8").split("\n")) if (line.trim()) opts.log?.(line);
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  const exited = new Promise<Error>((resolve) => {
    child.once("error", resolve);
    child.once("exit", (code, signal) =>
      resolve(new Error(`maildev exited early (code ${code}, signal ${signal}): ${output.trim()}`)),
    );
  });
  const webUrl = `http://127.0.0.1:${webPort}`;
  try {
    await Promise.race([waitForApi(webUrl), exited.then((err) => Promise.reject(err))]);
  } catch (err) {
    await stopChild(child, STOP_TIMEOUT_MS);
    throw err;
  }
  return { smtpPort, webPort, webUrl, stop: () => stopChild(child, STOP_TIMEOUT_MS) };
}

/** The package exports only its library (and only for `import`), so find its bin where Node would find the package. */
function maildevBin(): string {
  const dirs = createRequire(import.meta.url).resolve.paths("maildev") ?? [];
  const bin = dirs
    .map((dir) => join(dir, "maildev", "dist", "bin", "maildev.js"))
    .find((file) => existsSync(file));
  if (!bin) throw new Error("maildev is not installed: run npm install");
  return bin;
}

async function waitForApi(webUrl: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    try {
      if ((await fetch(`${webUrl}/api/email`)).ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`maildev did not answer on ${webUrl}/api/email`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
