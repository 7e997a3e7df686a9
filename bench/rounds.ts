/**
 * Steady-load rounds shared by the side-by-side comparisons (throughput, obo): every
 * gateway in one pinned process, short rounds in rotating order, ratios within a round.
 */
import type { BenchConfig } from './config.js';
import { runLoad } from './load.js';
import { median, spread, summarizeLatencies, type Spread } from './stats.js';

/** One gateway's numbers in one round. */
export interface RoundSample<G extends string = string> {
  readonly process: number;
  readonly round: number;
  readonly gateway: G;
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  /** CPU time of the gateway process per 2xx answer, µs. */
  readonly cpuPerRequest: number;
  readonly failed: number;
}

/** A gateway's numbers over every round: medians, and failures summed. */
export interface RoundsSummary {
  readonly rps: number;
  readonly cpuPerRequest: number;
  readonly p50: number;
  readonly p99: number;
  readonly failed: number;
}

export interface RatioSummary {
  /** Per-round ratios of req/s, over every round of every process. */
  readonly ratios: Record<string, Spread>;
  /** The same ratios, median per process, then spread across processes. */
  readonly ratiosAcrossProcesses: Record<string, Spread>;
  /** Per-round ratios of CPU time per request (lower is cheaper). */
  readonly cpuRatios: Record<string, Spread>;
  /** Per-round p99 differences, ms. */
  readonly p99Deltas: Record<string, Spread>;
}

export interface RoundsProcess<G extends string> {
  readonly process: number;
  readonly gateways: readonly G[];
  readonly urls: Readonly<Record<string, string>>;
  /** The gateway process's CPU time so far, µs. */
  readonly cpuMicros: () => Promise<number>;
  /** Authorization headers to rotate through, one per request (the same for every gateway). */
  readonly authorizations?: readonly string[];
}

function rotate<T>(items: readonly T[], by: number): T[] {
  const k = by % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

/** Warms up every gateway, then runs `config.rounds` rounds in rotating order; logs one line per round. */
export async function runRounds<G extends string>(config: BenchConfig, p: RoundsProcess<G>, log: (line: string) => void): Promise<RoundSample<G>[]> {
  const samples: RoundSample<G>[] = [];
  const auth = p.authorizations === undefined ? {} : { authorizations: p.authorizations };
  for (const gateway of p.gateways) {
    if (config.warmupSeconds > 0) await runLoad({ url: p.urls[gateway]!, connections: config.connections, duration: config.warmupSeconds, ...auth });
  }
  for (let round = 0; round < config.rounds; round++) {
    for (const gateway of rotate(p.gateways, round + p.process)) {
      const cpuBefore = await p.cpuMicros();
      const load = await runLoad({ url: p.urls[gateway]!, connections: config.connections, duration: config.roundSeconds, ...auth });
      const cpuPerRequest = ((await p.cpuMicros()) - cpuBefore) / load.ok;
      const latency = summarizeLatencies(load.latencies);
      samples.push({ process: p.process, round, gateway, rps: load.rps, p50: latency.p50, p99: latency.p99, cpuPerRequest, failed: load.failed });
    }
    const line = p.gateways.map((g) => {
      const sample = samples.find((s) => s.round === round && s.gateway === g)!;
      return `${g} ${Math.round(sample.rps)} (${Math.round(sample.cpuPerRequest)} µs)`;
    });
    log(`  process ${p.process + 1}/${config.processes} round ${round + 1}/${config.rounds}: ${line.join('  ')} req/s (CPU per request)`);
  }
  return samples;
}

export function summarizeGateway<G extends string>(samples: readonly RoundSample<G>[], gateway: G): RoundsSummary {
  const mine = samples.filter((s) => s.gateway === gateway);
  return {
    rps: median(mine.map((s) => s.rps)),
    cpuPerRequest: median(mine.map((s) => s.cpuPerRequest)),
    p50: median(mine.map((s) => s.p50)),
    p99: median(mine.map((s) => s.p99)),
    failed: mine.reduce((sum, s) => sum + s.failed, 0),
  };
}

/**
 * Ratios (name → numerator, denominator) and p99 differences, paired within the same
 * process and round, as spreads over rounds and across processes.
 */
export function summarizeRatios<G extends string>(
  samples: readonly RoundSample<G>[],
  processes: number,
  ratioPairs: Readonly<Record<string, readonly [G, G]>>,
  p99Pairs: Readonly<Record<string, readonly [G, G]>>,
): RatioSummary {
  const of = (gateway: G): RoundSample<G>[] => samples.filter((s) => s.gateway === gateway);
  const paired = (a: G, b: G, value: (x: RoundSample<G>, y: RoundSample<G>) => number, process?: number): number[] =>
    of(a)
      .filter((x) => process === undefined || x.process === process)
      .map((x) => value(x, samples.find((y) => y.gateway === b && y.process === x.process && y.round === x.round)!));

  const ratios: Record<string, Spread> = {};
  const ratiosAcrossProcesses: Record<string, Spread> = {};
  const cpuRatios: Record<string, Spread> = {};
  for (const [name, [a, b]] of Object.entries(ratioPairs)) {
    ratios[name] = spread(paired(a, b, (x, y) => x.rps / y.rps));
    ratiosAcrossProcesses[name] = spread(Array.from({ length: processes }, (_, p) => median(paired(a, b, (x, y) => x.rps / y.rps, p))));
    cpuRatios[name] = spread(paired(a, b, (x, y) => x.cpuPerRequest / y.cpuPerRequest));
  }
  const p99Deltas: Record<string, Spread> = {};
  for (const [name, [a, b]] of Object.entries(p99Pairs)) p99Deltas[name] = spread(paired(a, b, (x, y) => x.p99 - y.p99));
  return { ratios, ratiosAcrossProcesses, cpuRatios, p99Deltas };
}
