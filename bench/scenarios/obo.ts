/**
 * On behalf of the user: the no-auth ceiling (A), its twin (A') and an `aadOnBehalfOf`
 * gateway (O) in one pinned process, with `oboUsers` distinct user tokens rotating under
 * load, one per request, sent alike to all three. O must make exactly one token request
 * and one RS256 verification per user token, however many requests each user makes.
 */
import type { BenchConfig } from '../config.js';
import type { ContenderSpec } from '../contenders.js';
import type { ProviderStatsSample } from '../gateways.js';
import type { Harness } from '../harness.js';
import { runLoad } from '../load.js';
import { runRounds, summarizeGateway, summarizeRatios, type RatioSummary, type RoundSample, type RoundsSummary } from '../rounds.js';

export const OBO_GATEWAYS = ['A', "A'", 'O'] as const;
export type OboGatewayName = (typeof OBO_GATEWAYS)[number];

const RATIOS: Record<string, readonly [OboGatewayName, OboGatewayName]> = {
  "A'/A": ["A'", 'A'],
  'O/A': ['O', 'A'],
};
const P99_DELTAS: Record<string, readonly [OboGatewayName, OboGatewayName]> = {
  "A' − A": ["A'", 'A'],
  'O − A': ['O', 'A'],
};

/** What O did in one gateway process. */
export interface OboProcessCounts {
  /** Failed answers to each user's first request (the cold exchanges); must be 0. */
  readonly firstRequestsFailed: number;
  /** Token requests the emulator received after every user had made one request. */
  readonly tokenRequestsAfterWarmUp: number;
  /** At the end, as the emulator counted them. */
  readonly tokenRequests: number;
  /** At the end, as O's provider counted them. */
  readonly providerTokenRequests: number;
  /** RS256 verifications of user tokens at the end. */
  readonly verifications: number;
  /** User tokens held (`stats().keys`). */
  readonly keys: number;
  /** Requests O answered from its cache without waiting. */
  readonly cacheHits: number;
}

export interface OboResult extends RatioSummary {
  readonly users: number;
  readonly samples: readonly RoundSample<OboGatewayName>[];
  readonly gateways: Record<OboGatewayName, RoundsSummary>;
  readonly processes: readonly OboProcessCounts[];
}

export async function onBehalfOf(config: BenchConfig, harness: Harness, log: (line: string) => void): Promise<OboResult> {
  const samples: RoundSample<OboGatewayName>[] = [];
  const processes: OboProcessCounts[] = [];
  for (let p = 0; p < config.processes; p++) {
    const clientId = `obo${p}-O`;
    const emulator = await harness.startEmulator([clientId], 3599);
    // The default audience aadOnBehalfOf accepts: api://<its client id>.
    const users = await emulator.issueUserTokens(config.oboUsers, `api://${clientId}`);
    const authorizations = users.map((token) => `Bearer ${token}`);
    const specs: ContenderSpec[] = [
      { name: 'A', kind: 'none' },
      { name: "A'", kind: 'none' },
      { name: 'O', kind: 'aadOnBehalfOf', clientId, authorityHost: emulator.url },
    ];
    const gateways = await harness.startGateways(specs);
    const { urls } = gateways.ready;
    try {
      // Every user once, before any timing: the exchanges (IdP latency each) belong to no round.
      const cold = await runLoad({ url: urls.O!, connections: config.connections, amount: users.length, authorizations });
      const tokenRequestsAfterWarmUp = (await emulator.requestsFrom(clientId)).length;
      const rounds = await runRounds(config, { process: p, gateways: OBO_GATEWAYS, urls, cpuMicros: () => gateways.call<number>('cpuMicros'), authorizations }, log);
      samples.push(...rounds);
      const tokenRequests = (await emulator.requestsFrom(clientId)).length;
      const stats = (await gateways.call<Record<string, ProviderStatsSample>>('providerStats')).O!;
      const counts: OboProcessCounts = {
        firstRequestsFailed: cold.failed,
        tokenRequestsAfterWarmUp,
        tokenRequests,
        providerTokenRequests: stats.tokenRequests,
        verifications: stats.verifications ?? Number.NaN,
        keys: stats.keys ?? Number.NaN,
        cacheHits: stats.cacheHits,
      };
      processes.push(counts);
      log(
        `  process ${p + 1}/${config.processes}: O made ${tokenRequests} token requests (${tokenRequestsAfterWarmUp} after warm-up) and ${counts.verifications} RS256 verifications ` +
          `for ${users.length} users; ${stats.cacheHits} cache hits`,
      );
    } finally {
      await gateways.stop();
      await emulator.close();
    }
  }
  const gateways = Object.fromEntries(OBO_GATEWAYS.map((g) => [g, summarizeGateway(samples, g)])) as Record<OboGatewayName, RoundsSummary>;
  return { users: config.oboUsers, samples, gateways, processes, ...summarizeRatios(samples, config.processes, RATIOS, P99_DELTAS) };
}
