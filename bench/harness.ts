/** What every scenario needs: the upstream child, emulators with per-gateway client ids, and pinned gateway processes. */
import type { UserTokens } from '../lib/index.js';
import type { RefreshTokenStats } from '../lib/testing/index.js';
import type { ContenderSpec } from './contenders.js';
import type { GatewaysArgument, GatewaysReady } from './gateways.js';
import { startChild, type Child } from './ipc.js';
import type { EmulatorRequest, TokenRequestRecord, UpstreamReady } from './upstream.js';

export const GATEWAY_CPU = 1;
export const UPSTREAM_CPU = 0;
/** autocannon, in the parent, shares core 0 with the backend and the IdP: core 1 belongs to the gateways alone. */
export const LOAD_CPU = 0;

export interface Emulator {
  readonly url: string;
  /** Token requests the emulator received from `clientId`. */
  requestsFrom(clientId: string): Promise<TokenRequestRecord[]>;
  /** `count` distinct users' tokens for the audience `aud`, signed by this emulator. */
  issueUserTokens(count: number, aud: string): Promise<string[]>;
  /** `count` of its test users signed in to `clientId`, as a BFF's session holds them (needs `users`). */
  signIn(clientId: string, count: number): Promise<UserTokens[]>;
  refreshTokenStats(): Promise<RefreshTokenStats>;
  close(): Promise<void>;
}

/** Sign-in users and refresh-token reuse detection, for the cookie-session scenario. */
export interface EmulatorExtras {
  readonly users?: number;
  readonly reuseDetection?: boolean;
}

export interface Harness {
  readonly backendUrl: string;
  startEmulator(clientIds: readonly string[], tokenLifetimeSeconds: number, extras?: EmulatorExtras): Promise<Emulator>;
  startGateways(specs: readonly ContenderSpec[], nodeFlags?: readonly string[]): Promise<Child<GatewaysReady>>;
  stop(): Promise<void>;
}

export async function startHarness(idpLatencyMs: number): Promise<Harness> {
  const upstream = await startChild<UpstreamReady>('./upstream.ts', UPSTREAM_CPU, null);
  const { backendUrl } = upstream.ready;
  return {
    backendUrl,
    async startEmulator(clientIds, tokenLifetimeSeconds, extras = {}) {
      const request: EmulatorRequest = { clientIds, tokenLifetimeSeconds, latencyMs: idpLatencyMs, ...extras };
      const { id, url } = await upstream.call<{ id: number; url: string }>('startEmulator', request);
      return {
        url,
        async requestsFrom(clientId) {
          const all = await upstream.call<TokenRequestRecord[]>('tokenRequests', { id });
          return all.filter((r) => r.clientId === clientId);
        },
        issueUserTokens: (count, aud) => upstream.call<string[]>('issueUserTokens', { id, count, aud }),
        signIn: (clientId, count) => upstream.call<UserTokens[]>('signIn', { id, clientId, count }),
        refreshTokenStats: () => upstream.call<RefreshTokenStats>('refreshTokenStats', { id }),
        close: () => upstream.call('closeEmulator', { id }),
      };
    },
    startGateways(specs, nodeFlags = []) {
      // BENCH_CPU_PROF=<dir>: every gateway process writes a V8 CPU profile there when it stops.
      const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
      return startChild<GatewaysReady>('./gateways.ts', GATEWAY_CPU, { backendUrl, specs } satisfies GatewaysArgument, [...profile, ...nodeFlags]);
    },
    stop: () => upstream.stop(),
  };
}
