/** The few statistics the benchmarks share. */

/** Nearest-rank percentile of an ascending array (`q` in 0..1); NaN when empty. */
export function percentile(sorted: number[], q: number): number {
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)] ?? Number.NaN;
}

export function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

/** Rounded to hundredths. */
export const round = (n: number) => Math.round(n * 100) / 100;

/** Rounded to hundredths with its sign: "+3.5", "-1.2". */
export const signed = (n: number) => `${n >= 0 ? "+" : ""}${round(n)}`;
