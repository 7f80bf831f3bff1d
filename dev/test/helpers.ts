/**
 * Checks shared by the dev/ tests: that a stopped service really released its port and
 * left no process behind.
 */
import { execFile } from "node:child_process";
import { createServer } from "node:net";

export function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/** Command lines of running processes that contain `needle` (pgrep -f, exact substring). */
export function processesMatching(needle: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    execFile("pgrep", ["-af", "--", escapeRegExp(needle)], (err, stdout) => {
      // pgrep exits 1 when nothing matches.
      if (err && err.code !== 1) reject(err);
      else resolve(stdout.split("\n").filter(Boolean));
    });
  });
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
