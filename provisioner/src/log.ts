/** One JSON object per log line; callers pass fields, never tokens or request headers. */
export type Logger = (line: Record<string, unknown>) => void;

export const jsonLogger: Logger = (line) => {
  process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), ...line })}\n`);
};
