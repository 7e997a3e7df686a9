/**
 * Child process: the backend and the Entra ID emulators (50 ms per token), pinned
 * to core 0 by bench/run.ts. Emulators are started per scenario, so each
 * scenario counts its own token requests.
 */
import type { UserTokens } from '../lib/index.js';
import { startEntraEmulator, type EntraEmulator, type RefreshTokenStats } from '../lib/testing/index.js';
import { CLIENT_SECRET, TENANT_ID } from './identity.js';
import { serve } from './ipc.js';
import { createBackend, listen } from './servers.js';
import { benchUsers, signInUsers } from './sign-in.js';

export interface EmulatorRequest {
  readonly clientIds: readonly string[];
  readonly tokenLifetimeSeconds: number;
  readonly latencyMs: number;
  /** Test users (user0@bench.example…) the authorization endpoint signs in. */
  readonly users?: number;
  /** Refresh-token reuse detection: redeeming a rotated refresh token again revokes its family. */
  readonly reuseDetection?: boolean;
}

/** A token request as the emulator saw it: who asked, and when it arrived and was answered. */
export interface TokenRequestRecord {
  readonly clientId: string;
  readonly receivedAt: number;
}

export interface UpstreamReady {
  readonly backendUrl: string;
}

const emulators = new Map<number, EntraEmulator>();
let nextEmulator = 0;

const backendUrl = await listen(createBackend());

serve(
  {
    async startEmulator(args: EmulatorRequest): Promise<{ id: number; url: string }> {
      const emulator = await startEntraEmulator({
        latencyMs: args.latencyMs,
        tokenLifetimeSeconds: args.tokenLifetimeSeconds,
        tenants: [TENANT_ID],
        // v2 APIs: the OBO scenario's aadOnBehalfOf validates user tokens against the v2 discovery issuer.
        clients: args.clientIds.map((clientId) => ({ clientId, clientSecret: CLIENT_SECRET, accessTokenVersion: 2 as const })),
        ...(args.users === undefined ? {} : { users: benchUsers(args.users) }),
        refreshTokenReuseDetection: args.reuseDetection === true,
      });
      const id = nextEmulator++;
      emulators.set(id, emulator);
      return { id, url: emulator.url };
    },
    tokenRequests(args: { id: number }): TokenRequestRecord[] {
      return emulators.get(args.id)!.tokenRequests.map((r) => ({ clientId: r.form['client_id'] ?? '', receivedAt: r.receivedAt }));
    },
    /** Signed user tokens, as a SPA would send them: one per user, each with its own `oid`. */
    issueUserTokens(args: { id: number; count: number; aud: string }): Promise<string[]> {
      const emulator = emulators.get(args.id)!;
      return Promise.all(Array.from({ length: args.count }, (_, i) => emulator.issueUserToken({ oid: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, name: `User ${i}`, aud: args.aud })));
    },
    /** `count` users signed in to `clientId` (authorization code with PKCE), one refresh-token family each. */
    signIn(args: { id: number; clientId: string; count: number }): Promise<UserTokens[]> {
      return signInUsers(emulators.get(args.id)!, { clientId: args.clientId, clientSecret: CLIENT_SECRET }, args.count);
    },
    refreshTokenStats(args: { id: number }): RefreshTokenStats {
      return emulators.get(args.id)!.refreshTokenStats;
    },
    async closeEmulator(args: { id: number }): Promise<void> {
      await emulators.get(args.id)?.close();
      emulators.delete(args.id);
    },
  },
  { backendUrl } satisfies UpstreamReady,
);
