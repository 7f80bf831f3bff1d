#!/usr/bin/env node
// In the repository the TypeScript sources run through tsx; the container image ships
// only the esbuild bundle (dist/cli.js) and no src/, so whichever exists is used.
import { existsSync } from "node:fs";

const source = new URL("../src/cli.ts", import.meta.url);
let cli;
if (existsSync(source)) {
  const { register } = await import("tsx/esm/api");
  register();
  cli = await import(source.href);
} else {
  cli = await import(new URL("../dist/cli.js", import.meta.url).href);
}
const code = await cli.runCli(process.argv.slice(2));
if (code !== undefined) process.exitCode = code;
