/**
 * `.dev.vars`, the Worker's local secrets file that `npm run dev` writes: read by the bootstrap
 * commands (`db:migrate`, `admin:create`) when their variables are not in the environment, so
 * they work against the local stack with no flags.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

export const DEV_VARS_FILE = ".dev.vars";

/** Parses `KEY=value` lines; values may be JSON-quoted (how `npm run dev` writes them). */
export function parseDevVars(text: string): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const eq = line.indexOf("=");
    if (eq <= 0) continue;
    const key = line.slice(0, eq).trim();
    const value = line.slice(eq + 1).trim();
    vars[key] = value.startsWith('"') ? (JSON.parse(value) as string) : value.replace(/^'(.*)'$/, "$1");
  }
  return vars;
}

/** The command's configuration is missing: nothing was attempted. */
export class MissingVariables extends Error {}

export interface ResolvedVars {
  values: Record<string, string>;
  /** Where the values came from, for the command's output. */
  source: string;
}

/**
 * The named variables, all from the environment, or (when none is set there) all from
 * `.dev.vars` in `cwd`. Never a mix: one URL from a shell and the other from the local stack
 * would point the two halves of a command at different databases.
 */
export function resolveVars(
  names: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
  cwd = process.cwd(),
): ResolvedVars {
  const fromEnv = names.filter((name) => env[name]);
  if (fromEnv.length === names.length) {
    return {
      values: Object.fromEntries(names.map((name) => [name, env[name] as string])),
      source: "environment",
    };
  }
  if (fromEnv.length > 0) {
    const missing = names.filter((name) => !env[name]);
    throw new MissingVariables(
      `${missing.join(", ")} not set while ${fromEnv.join(", ")} is: set all of ${names.join(", ")}, or none to use ${DEV_VARS_FILE}.`,
    );
  }
  const file = join(cwd, DEV_VARS_FILE);
  const vars = existsSync(file) ? parseDevVars(readFileSync(file, "utf8")) : {};
  const missing = names.filter((name) => !vars[name]);
  if (missing.length > 0) {
    const where = existsSync(file) ? `${file} lacks ${missing.join(", ")}` : `there is no ${file}`;
    throw new MissingVariables(
      `${names.join(" and ")} ${names.length > 1 ? "are" : "is"} not set, and ${where}. ` +
        `Set ${names.length > 1 ? "them" : "it"} (see README, "Deploy to Cloudflare"), or start the local stack with \`npm run dev\`, which writes ${DEV_VARS_FILE}.`,
    );
  }
  return { values: Object.fromEntries(names.map((name) => [name, vars[name] as string])), source: file };
}

/** A database URL fit for output: role, host and database, never the password. */
export function safeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.username}@${parsed.host}${parsed.pathname}`;
  } catch {
    return "(not a URL)";
  }
}
