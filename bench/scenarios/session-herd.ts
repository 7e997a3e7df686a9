/**
 * The cold session herd (issue 21): `herdSessions` cookie sessions, each with an expired access
 * token, each hit by `herdRequests` concurrent requests at once, through a freshly started
 * gateway process. The IdP (the emulator) rotates refresh tokens and detects reuse: a second
 * redemption of any refresh token would revoke that user's family and sign them out. U
 * (`aadUserToken`) must redeem exactly once per session and write each session once; A, without
 * auth, gets the same requests as the latency reference.
 */
import type { UserTokens } from '../../lib/index.js';
import type { BenchConfig } from '../config.js';
import type { ContenderKind } from '../contenders.js';
import type { Harness } from '../harness.js';
import { runLoad } from '../load.js';
import type { SessionStoreStats } from '../sessions.js';
import { median, summarizeLatencies, type LatencySummary } from '../stats.js';

const CONTENDERS: readonly { readonly name: 'A' | 'U'; readonly kind: ContenderKind }[] = [
  { name: 'A', kind: 'none' },
  { name: 'U', kind: 'aadUserToken' },
];

export interface HerdRun extends LatencySummary {
  readonly gateway: 'A' | 'U';
  readonly repeat: number;
  readonly failed: number;
  /** U only: what the emulator and the session store saw during the herd. */
  readonly redemptions?: number;
  readonly refused?: number;
  readonly reuseDetected?: number;
  readonly familiesRevoked?: number;
  readonly tokenRequests?: number;
  readonly store?: SessionStoreStats;
}

export interface HerdResult {
  readonly sessions: number;
  readonly requestsPerSession: number;
  readonly runs: readonly HerdRun[];
  /** Per gateway: latency medians over repeats, failures summed. */
  readonly gateways: Record<string, { readonly p50: number; readonly p99: number; readonly max: number; readonly answered: number; readonly failed: number }>;
}

const expired = (tokens: UserTokens): UserTokens => ({ ...tokens, expiresAt: Date.now() - 1000 });

export async function sessionHerd(config: BenchConfig, harness: Harness, log: (line: string) => void): Promise<HerdResult> {
  const n = config.herdSessions;
  const total = n * config.herdRequests;
  const clientId = 'herd-U';
  const emulator = await harness.startEmulator([clientId], 3599, { users: n, reuseDetection: true });
  const runs: HerdRun[] = [];
  // Session i's cookie; request k of the herd carries session k mod n, so each gets herdRequests.
  const sid = (i: number): string => `s${i}`;
  const headers = Array.from({ length: n }, (_, i) => ({ cookie: `sid=${sid(i)}`, 'x-csrf': '1' }));
  try {
    for (let repeat = 0; repeat < config.herdRepeats; repeat++) {
      const order = repeat % 2 === 0 ? CONTENDERS : [...CONTENDERS].reverse();
      for (const { name, kind } of order) {
        const gateway = await harness.startGateways([{ name, kind, clientId, authorityHost: emulator.url }]);
        try {
          let before;
          if (kind === 'aadUserToken') {
            // Fresh sign-ins each time: new families, their access tokens then marked expired.
            const signedIn = await emulator.signIn(clientId, n);
            await gateway.call('putSessions', { name, sessions: Object.fromEntries(signedIn.map((tokens, i) => [sid(i), expired(tokens)])) });
            before = { stats: await emulator.refreshTokenStats(), tokenRequests: (await emulator.requestsFrom(clientId)).length };
          }
          const load = await runLoad({ url: gateway.ready.urls[name]!, connections: total, amount: total, headers });
          const base = { gateway: name, repeat, failed: load.failed, ...summarizeLatencies(load.latencies) };
          if (before === undefined) {
            runs.push(base);
            log(`  herd ${repeat + 1}/${config.herdRepeats} ${name}: p50 ${base.p50.toFixed(1)} ms, p99 ${base.p99.toFixed(1)} ms, ${load.failed} failed`);
            continue;
          }
          const after = await emulator.refreshTokenStats();
          const run: HerdRun = {
            ...base,
            redemptions: after.redeemed - before.stats.redeemed,
            refused: after.refused - before.stats.refused,
            reuseDetected: after.reuseDetected - before.stats.reuseDetected,
            familiesRevoked: after.familiesRevoked - before.stats.familiesRevoked,
            tokenRequests: (await emulator.requestsFrom(clientId)).length - before.tokenRequests,
            store: await gateway.call<SessionStoreStats>('sessionStats', { name }),
          };
          runs.push(run);
          log(
            `  herd ${repeat + 1}/${config.herdRepeats} ${name}: ${run.redemptions} refresh redemptions for ${n} sessions, ${run.familiesRevoked} families revoked, ` +
              `${run.store!.writes} session writes, p50 ${run.p50.toFixed(1)} ms, p99 ${run.p99.toFixed(1)} ms, ${load.failed} failed`,
          );
        } finally {
          await gateway.stop();
        }
      }
    }
  } finally {
    await emulator.close();
  }
  const gateways: HerdResult['gateways'] = {};
  for (const { name } of CONTENDERS) {
    const mine = runs.filter((r) => r.gateway === name);
    gateways[name] = {
      p50: median(mine.map((r) => r.p50)),
      p99: median(mine.map((r) => r.p99)),
      max: median(mine.map((r) => r.max)),
      answered: median(mine.map((r) => r.count)),
      failed: mine.reduce((sum, r) => sum + r.failed, 0),
    };
  }
  return { sessions: n, requestsPerSession: config.herdRequests, runs, gateways };
}
