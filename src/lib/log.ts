/**
 * One JSON object per line, so log search can filter on any field. Callers pass fields,
 * never raw request bodies or headers: nothing secret reaches this function.
 */
export const LOG_LEVELS = ["debug", "info", "warn", "error", "silent"] as const;
export type LogLevel = Exclude<(typeof LOG_LEVELS)[number], "silent">;

const RANK: Record<(typeof LOG_LEVELS)[number], number> = { debug: 0, info: 1, warn: 2, error: 3, silent: 4 };
let threshold = RANK.info;

/** Set from the `LOG_LEVEL` var once the configuration is parsed. */
export function setLogLevel(level: (typeof LOG_LEVELS)[number]): void {
  threshold = RANK[level];
}

export function log(level: LogLevel, msg: string, fields: Record<string, unknown> = {}): void {
  if (RANK[level] < threshold) return;
  const line = JSON.stringify({ level, msg, time: new Date().toISOString(), ...fields });
  if (level === "error") console.error(line);
  else if (level === "warn") console.warn(line);
  else console.log(line);
}
