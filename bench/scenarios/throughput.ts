/**
 * A, A', T, B, C and D side by side: short rounds in rotating order, every
 * gateway in the same pinned process, repeated over several fresh processes.
 */
import type { BenchConfig } from '../config.js';
import type { ContenderSpec } from '../contenders.js';
import type { Harness } from '../harness.js';
import { runLoad } from '../load.js';
import { median, spread, summarizeLatencies, type Spread } from '../stats.js';

export const GATEWAYS = ['A', "A'", 'T', 'B', 'C', 'D'] as const;
export type GatewayName = (typeof GATEWAYS)[number];

/** One gateway's numbers in one round. */
export interface RoundSample {
  readonly process: number;
  readonly round: number;
  readonly gateway: GatewayName;
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  /** CPU time of the gateway process per 2xx answer, µs. */
  readonly cpuPerRequest: number;
  readonly failed: number;
}

export interface GatewaySummary {
  readonly rps: number;
  readonly cpuPerRequest: number;
  readonly p50: number;
  readonly p99: number;
  readonly failed: number;
  /** Token requests per gateway process (warm-up included), as the emulator counted them. */
  readonly tokenRequests: readonly number[];
}

export interface ThroughputResult {
  readonly samples: readonly RoundSample[];
  readonly gateways: Record<GatewayName, GatewaySummary>;
  /** Per-round ratios of req/s, over every round of every process. */
  readonly ratios: Record<string, Spread>;
  /** The same ratios, median per process, then spread across processes. */
  readonly ratiosAcrossProcesses: Record<string, Spread>;
  /** Per-round ratios of CPU time per request (lower is cheaper). */
  readonly cpuRatios: Record<string, Spread>;
  /** Per-round p99 differences, ms. */
  readonly p99Deltas: Record<string, Spread>;
  /** B's own count (provider stats) per process, to cross-check the emulator. */
  readonly bProviderTokenRequests: readonly number[];
}

/** Ratio name → numerator and denominator. */
const RATIOS: Record<string, readonly [GatewayName, GatewayName]> = {
  "A'/A": ["A'", 'A'],
  'B/A': ['B', 'A'],
  'T/A': ['T', 'A'],
  'B/T': ['B', 'T'],
  'B/C': ['B', 'C'],
  'B/D': ['B', 'D'],
  'D/A': ['D', 'A'],
};
const P99_DELTAS: Record<string, readonly [GatewayName, GatewayName]> = {
  "A' − A": ["A'", 'A'],
  'B − A': ['B', 'A'],
  'T − A': ['T', 'A'],
  'B − T': ['B', 'T'],
  'D − A': ['D', 'A'],
};

function specs(process: number, authorityHost: string): ContenderSpec[] {
  return [
    { name: 'A', kind: 'none' },
    { name: "A'", kind: 'none' },
    { name: 'T', kind: 'fixed-token', clientId: `tp${process}-T`, authorityHost },
    { name: 'B', kind: 'aadBackendAuth', clientId: `tp${process}-B`, authorityHost },
    { name: 'C', kind: 'per-request', clientId: `tp${process}-C`, authorityHost },
    { name: 'D', kind: 'hand-cache', clientId: `tp${process}-D`, authorityHost },
  ];
}

function rotate<T>(items: readonly T[], by: number): T[] {
  const k = by % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

export async function throughput(config: BenchConfig, harness: Harness, log: (line: string) => void): Promise<ThroughputResult> {
  const samples: RoundSample[] = [];
  const tokenRequests: Record<GatewayName, number[]> = { A: [], "A'": [], T: [], B: [], C: [], D: [] };
  const bProviderTokenRequests: number[] = [];
  for (let p = 0; p < config.processes; p++) {
    const clientIds = specs(p, '').flatMap((s) => (s.clientId === undefined ? [] : [s.clientId]));
    const emulator = await harness.startEmulator(clientIds, 3599);
    const processSpecs = specs(p, emulator.url);
    const gateways = await harness.startGateways(processSpecs);
    const { urls } = gateways.ready;
    try {
      for (const gateway of GATEWAYS) {
        if (config.warmupSeconds > 0) await runLoad({ url: urls[gateway]!, connections: config.connections, duration: config.warmupSeconds });
      }
      for (let round = 0; round < config.rounds; round++) {
        for (const gateway of rotate(GATEWAYS, round + p)) {
          const cpuBefore = await gateways.call<number>('cpuMicros');
          const load = await runLoad({ url: urls[gateway]!, connections: config.connections, duration: config.roundSeconds });
          const cpuPerRequest = ((await gateways.call<number>('cpuMicros')) - cpuBefore) / load.ok;
          const latency = summarizeLatencies(load.latencies);
          samples.push({ process: p, round, gateway, rps: load.rps, p50: latency.p50, p99: latency.p99, cpuPerRequest, failed: load.failed });
        }
        const line = GATEWAYS.map((g) => {
          const sample = samples.find((s) => s.process === p && s.round === round && s.gateway === g)!;
          return `${g} ${Math.round(sample.rps)} (${Math.round(sample.cpuPerRequest)} µs)`;
        });
        log(`  process ${p + 1}/${config.processes} round ${round + 1}/${config.rounds}: ${line.join('  ')} req/s (CPU per request)`);
      }
      for (const spec of processSpecs) {
        tokenRequests[spec.name as GatewayName].push(spec.clientId === undefined ? 0 : (await emulator.requestsFrom(spec.clientId)).length);
      }
      const stats = await gateways.call<Record<string, { tokenRequests: number }>>('providerStats');
      bProviderTokenRequests.push(stats.B?.tokenRequests ?? Number.NaN);
    } finally {
      await gateways.stop();
      await emulator.close();
    }
  }
  return summarize(samples, tokenRequests, bProviderTokenRequests, config.processes);
}

function summarize(
  samples: readonly RoundSample[],
  tokenRequests: Record<GatewayName, number[]>,
  bProviderTokenRequests: number[],
  processes: number,
): ThroughputResult {
  const of = (gateway: GatewayName): RoundSample[] => samples.filter((s) => s.gateway === gateway);
  const gateways = Object.fromEntries(
    GATEWAYS.map((g) => {
      const mine = of(g);
      const summary: GatewaySummary = {
        rps: median(mine.map((s) => s.rps)),
        cpuPerRequest: median(mine.map((s) => s.cpuPerRequest)),
        p50: median(mine.map((s) => s.p50)),
        p99: median(mine.map((s) => s.p99)),
        failed: mine.reduce((sum, s) => sum + s.failed, 0),
        tokenRequests: tokenRequests[g],
      };
      return [g, summary];
    }),
  ) as Record<GatewayName, GatewaySummary>;

  // Pair the samples of the same process and round.
  const paired = (a: GatewayName, b: GatewayName, value: (x: RoundSample, y: RoundSample) => number, process?: number): number[] =>
    of(a)
      .filter((x) => process === undefined || x.process === process)
      .map((x) => value(x, samples.find((y) => y.gateway === b && y.process === x.process && y.round === x.round)!));

  const ratios: Record<string, Spread> = {};
  const ratiosAcrossProcesses: Record<string, Spread> = {};
  for (const [name, [a, b]] of Object.entries(RATIOS)) {
    ratios[name] = spread(paired(a, b, (x, y) => x.rps / y.rps));
    const perProcess = Array.from({ length: processes }, (_, p) => median(paired(a, b, (x, y) => x.rps / y.rps, p)));
    ratiosAcrossProcesses[name] = spread(perProcess);
  }
  const cpuRatios: Record<string, Spread> = {};
  for (const [name, [a, b]] of Object.entries(RATIOS)) cpuRatios[name] = spread(paired(a, b, (x, y) => x.cpuPerRequest / y.cpuPerRequest));
  const p99Deltas: Record<string, Spread> = {};
  for (const [name, [a, b]] of Object.entries(P99_DELTAS)) p99Deltas[name] = spread(paired(a, b, (x, y) => x.p99 - y.p99));
  return { samples, gateways, ratios, ratiosAcrossProcesses, cpuRatios, p99Deltas, bProviderTokenRequests };
}
