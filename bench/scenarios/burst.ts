/**
 * The cold burst: a freshly started gateway gets `burstRequests` concurrent
 * requests at once. B must make one token request; D makes one per request
 * that arrives before its first token is back. A, without auth, is the reference.
 */
import type { BenchConfig } from '../config.js';
import type { ContenderKind } from '../contenders.js';
import type { Harness } from '../harness.js';
import { runLoad } from '../load.js';
import { median, summarizeLatencies, type LatencySummary } from '../stats.js';

const CONTENDERS: readonly { readonly name: 'A' | 'B' | 'D'; readonly kind: ContenderKind }[] = [
  { name: 'A', kind: 'none' },
  { name: 'B', kind: 'aadBackendAuth' },
  { name: 'D', kind: 'hand-cache' },
];

export interface BurstRun extends LatencySummary {
  readonly gateway: 'A' | 'B' | 'D';
  readonly repeat: number;
  readonly tokenRequests: number;
  readonly failed: number;
}

export interface BurstResult {
  readonly requests: number;
  readonly runs: readonly BurstRun[];
  /** Per gateway: median over repeats. */
  readonly gateways: Record<
    string,
    { readonly tokenRequests: readonly number[]; readonly answered: number; readonly p50: number; readonly p99: number; readonly max: number; readonly failed: number }
  >;
}

export async function burst(config: BenchConfig, harness: Harness, log: (line: string) => void): Promise<BurstResult> {
  const runs: BurstRun[] = [];
  const clientId = (name: string, repeat: number): string => `burst${repeat}-${name}`;
  const clientIds = CONTENDERS.flatMap(({ name }) => Array.from({ length: config.burstRepeats }, (_, r) => clientId(name, r)));
  const emulator = await harness.startEmulator(clientIds, 3599);
  try {
    for (let repeat = 0; repeat < config.burstRepeats; repeat++) {
      // Alternate the order, so that neither goes first on a quieter machine every time.
      const order = repeat % 2 === 0 ? CONTENDERS : [...CONTENDERS].reverse();
      for (const { name, kind } of order) {
        const id = clientId(name, repeat);
        const gateway = await harness.startGateways([{ name, kind, clientId: id, authorityHost: emulator.url }]);
        try {
          const load = await runLoad({ url: gateway.ready.urls[name]!, connections: config.burstRequests, amount: config.burstRequests });
          const tokenRequests = kind === 'none' ? 0 : (await emulator.requestsFrom(id)).length;
          const run: BurstRun = { gateway: name, repeat, tokenRequests, failed: load.failed, ...summarizeLatencies(load.latencies) };
          runs.push(run);
          log(`  burst ${repeat + 1}/${config.burstRepeats} ${name}: ${tokenRequests} token requests, p99 ${run.p99.toFixed(1)} ms, ${load.failed} failed`);
        } finally {
          await gateway.stop();
        }
      }
    }
  } finally {
    await emulator.close();
  }
  const gateways: BurstResult['gateways'] = {};
  for (const { name } of CONTENDERS) {
    const mine = runs.filter((r) => r.gateway === name);
    gateways[name] = {
      tokenRequests: mine.map((r) => r.tokenRequests),
      answered: median(mine.map((r) => r.count)),
      p50: median(mine.map((r) => r.p50)),
      p99: median(mine.map((r) => r.p99)),
      max: median(mine.map((r) => r.max)),
      failed: mine.reduce((sum, r) => sum + r.failed, 0),
    };
  }
  return { requests: config.burstRequests, runs, gateways };
}
