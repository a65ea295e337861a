/** What the store and API server benchmarks share: their flag syntax, percentiles, and the concurrent-client driver. */
import { performance } from 'node:perf_hooks';

/**
 * `--kebab-name value` pairs onto the camelCase keys of `defaults` (`--value-bytes 512` → valueBytes), as a
 * number where the default is one; an unknown name throws.
 */
export function parseFlags<T extends object>(defaults: T, argv = process.argv.slice(2)): T {
  const a = { ...defaults } as Record<string, unknown>;
  for (let i = 0; i < argv.length; i += 2) {
    const k = argv[i].replace(/^--/, '').replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    if (!(k in a)) throw new Error(`unknown flag ${argv[i]}`);
    a[k] = typeof a[k] === 'number' ? Number(argv[i + 1]) : argv[i + 1];
  }
  return a as T;
}

/** The p-th percentile of ascending `sorted` (NaN when empty). */
export function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export interface Phase {
  opsPerSec: number;
  p50: number;
  p99: number;
  max: number;
}

/** Runs `total` operations spread over `clients` concurrent loops; latency per op in ms. */
export async function concurrent(clients: number, total: number, op: (i: number) => Promise<unknown>): Promise<Phase> {
  const lat: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      for (;;) {
        const i = next++;
        if (i >= total) return;
        const s = performance.now();
        await op(i);
        lat.push(performance.now() - s);
      }
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  lat.sort((x, y) => x - y);
  return { opsPerSec: total / secs, p50: pct(lat, 50), p99: pct(lat, 99), max: lat[lat.length - 1] };
}
