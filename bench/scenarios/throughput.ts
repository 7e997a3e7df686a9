/**
 * A, A', T, B, C and D side by side: short rounds in rotating order, every
 * gateway in the same pinned process, repeated over several fresh processes.
 */
import type { BenchConfig } from '../config.js';
import type { ContenderSpec } from '../contenders.js';
import type { Harness } from '../harness.js';
import { runRounds, summarizeGateway, summarizeRatios, type RatioSummary, type RoundSample, type RoundsSummary } from '../rounds.js';

export const GATEWAYS = ['A', "A'", 'T', 'B', 'C', 'D'] as const;
export type GatewayName = (typeof GATEWAYS)[number];

export interface GatewaySummary extends RoundsSummary {
  /** Token requests per gateway process (warm-up included), as the emulator counted them. */
  readonly tokenRequests: readonly number[];
}

export interface ThroughputResult extends RatioSummary {
  readonly samples: readonly RoundSample<GatewayName>[];
  readonly gateways: Record<GatewayName, GatewaySummary>;
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

export async function throughput(config: BenchConfig, harness: Harness, log: (line: string) => void): Promise<ThroughputResult> {
  const samples: RoundSample<GatewayName>[] = [];
  const tokenRequests: Record<GatewayName, number[]> = { A: [], "A'": [], T: [], B: [], C: [], D: [] };
  const bProviderTokenRequests: number[] = [];
  for (let p = 0; p < config.processes; p++) {
    const clientIds = specs(p, '').flatMap((s) => (s.clientId === undefined ? [] : [s.clientId]));
    const emulator = await harness.startEmulator(clientIds, 3599);
    const processSpecs = specs(p, emulator.url);
    const gateways = await harness.startGateways(processSpecs);
    const { urls } = gateways.ready;
    try {
      samples.push(...(await runRounds(config, { process: p, gateways: GATEWAYS, urls, cpuMicros: () => gateways.call<number>('cpuMicros') }, log)));
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
  samples: readonly RoundSample<GatewayName>[],
  tokenRequests: Record<GatewayName, number[]>,
  bProviderTokenRequests: number[],
  processes: number,
): ThroughputResult {
  const gateways = Object.fromEntries(
    GATEWAYS.map((g) => {
      const summary: GatewaySummary = { ...summarizeGateway(samples, g), tokenRequests: tokenRequests[g] };
      return [g, summary];
    }),
  ) as Record<GatewayName, GatewaySummary>;
  return { samples, gateways, ...summarizeRatios(samples, processes, RATIOS, P99_DELTAS), bProviderTokenRequests };
}
