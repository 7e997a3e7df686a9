/** Small, exact statistics over plain arrays: the benchmark's numbers come from here. */

/** The value at quantile `q` (0..1) of `sorted`, interpolated linearly between order statistics. */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const position = (n - 1) * q;
  const low = Math.floor(position);
  const high = Math.ceil(position);
  const a = sorted[low]!;
  const b = sorted[high]!;
  return a + (b - a) * (position - low);
}

export function sortedCopy(values: ArrayLike<number>): Float64Array {
  return Float64Array.from(values).sort();
}

export function quantile(values: ArrayLike<number>, q: number): number {
  return quantileSorted(sortedCopy(values), q);
}

export function median(values: ArrayLike<number>): number {
  return quantile(values, 0.5);
}

/** Min, median and max: how every ratio is reported. */
export interface Spread {
  readonly min: number;
  readonly median: number;
  readonly max: number;
  readonly n: number;
}

export function spread(values: ArrayLike<number>): Spread {
  const sorted = sortedCopy(values);
  return { min: sorted[0] ?? Number.NaN, median: quantileSorted(sorted, 0.5), max: sorted[sorted.length - 1] ?? Number.NaN, n: sorted.length };
}

/** Latency percentiles in ms. */
export interface LatencySummary {
  readonly count: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

export function summarizeLatencies(latencies: ArrayLike<number>): LatencySummary {
  const sorted = sortedCopy(latencies);
  return {
    count: sorted.length,
    p50: quantileSorted(sorted, 0.5),
    p99: quantileSorted(sorted, 0.99),
    max: sorted[sorted.length - 1] ?? Number.NaN,
  };
}
