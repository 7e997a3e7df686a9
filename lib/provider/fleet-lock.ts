import { AadBackendAuthError } from '../core/errors.js';
import type { ProviderToken } from './provider-token.js';
import { withTimeout } from '../core/timing.js';
import { systemClock, type Clock } from '../core/clock.js';
import type { AadBackendAuthLogger, TokenCache, TokenCacheLock } from '../core/types.js';
import { CACHE_TIMEOUT_MS, cacheCall } from './cache-access.js';

const LOCK_POLL_MS = 50;
const UPDATE_WAIT_MS = 250;

export interface FleetLockContext {
  readonly cache: TokenCache & { lock: NonNullable<TokenCache['lock']> };
  readonly logger: AadBackendAuthLogger;
  readonly key: string;
  readonly deadline: number;
  readonly lockTtlMs: number;
  readonly signal: AbortSignal;
  /** A usable token some other holder stored, if any. */
  readUsable(): Promise<ProviderToken | undefined>;
  /** Fetches from the IdP and stores; `awaitStore` when others wait for the write. */
  fetchAndStore(awaitStore: boolean): Promise<ProviderToken>;
  /** Where the deadline is read and the poll sleeps; tests pass a manual one. @default systemClock */
  readonly clock?: Clock;
}

export interface LockOutcome {
  readonly token: ProviderToken;
  readonly origin: 'idp' | 'cache';
  /** The claims challenge the token was requested with, if any. */
  readonly challenge?: string | undefined;
}

/**
 * Fleet-wide single flight through the cache's lock: the holder fetches, the others
 * wait for its write. A failing cache means this process fetches on its own.
 */
export async function obtainUnderFleetLock(ctx: FleetLockContext): Promise<LockOutcome> {
  const { cache, key, deadline } = ctx;
  const clock = ctx.clock ?? systemClock;
  for (;;) {
    let lock: TokenCacheLock | undefined;
    try {
      lock = await withTimeout(cache.lock(key, ctx.lockTtlMs), Math.min(CACHE_TIMEOUT_MS, Math.max(1, deadline - clock.now())));
    } catch {
      return { token: await ctx.fetchAndStore(false), origin: 'idp' };
    }
    if (lock !== undefined) {
      const held = lock;
      try {
        const adopted = await ctx.readUsable();
        if (adopted !== undefined) return { token: adopted, origin: 'cache' };
        return { token: await ctx.fetchAndStore(true), origin: 'idp' };
      } finally {
        void cacheCall(ctx.logger, () => held.release(), 'lock release');
      }
    }
    const remaining = deadline - clock.now();
    if (remaining <= 0) throw new AadBackendAuthError('ERR_IDP_UNAVAILABLE', 'Another instance holds the token lock and no token appeared in time');
    if (cache.waitForUpdate === undefined) await clock.sleep(Math.min(remaining, LOCK_POLL_MS), ctx.signal);
    else await cacheCall(ctx.logger, () => cache.waitForUpdate!(key, Math.min(remaining, UPDATE_WAIT_MS)), 'wait');
    if (ctx.signal.aborted) throw ctx.signal.reason;
    const appeared = await ctx.readUsable();
    if (appeared !== undefined) return { token: appeared, origin: 'cache' };
  }
}
