// Benchmark plumbing: every figure is one JSON line {name, median_ms, min_ms, runs, ...extra}.
export interface Figure {
  name: string;
  median_ms: number;
  min_ms: number;
  runs: number;
  [extra: string]: unknown;
}

export function timeIt(fn: () => void, options: { warmup?: number; runs?: number; maxSeconds?: number } = {}) {
  const { warmup = 2, runs = 15, maxSeconds = 20 } = options;
  for (let i = 0; i < warmup; i++) fn();
  const times: number[] = [];
  const start = performance.now();
  while (times.length < runs && (times.length < 3 || performance.now() - start < maxSeconds * 1000)) {
    const t = performance.now();
    fn();
    times.push(performance.now() - t);
  }
  return summarize(times);
}

/** Median and minimum of timings in ms (`runs` is how many there were). */
export function summarize(times: number[]) {
  const sorted = times.slice().sort((a, b) => a - b);
  const median = sorted.length % 2 ? (sorted[(sorted.length - 1) / 2] as number)
    : ((sorted[sorted.length / 2 - 1] as number) + (sorted[sorted.length / 2] as number)) / 2;
  return { median_ms: round(median), min_ms: round(sorted[0] as number), runs: sorted.length };
}

export function round(x: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export function emit(figure: Figure): void {
  console.log(JSON.stringify(figure));
}

/** The p-quantile of ascending timings (the value at rank floor(p x n)). */
export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number;
}
