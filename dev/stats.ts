/**
 * Plain counters the local emulators expose so tests and the benchmark can assert how
 * many network round trips a request really cost (the point of the Neon/Upstash design).
 */
export type Stats<K extends string> = Record<K, number> & { reset(): void };

export function createStats<K extends string>(...names: K[]): Stats<K> {
  const stats = {
    reset() {
      for (const name of names) (stats as Record<K, number>)[name] = 0;
    },
  } as Stats<K>;
  stats.reset();
  return stats;
}
