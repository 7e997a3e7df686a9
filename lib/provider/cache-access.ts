import { ProviderToken } from './provider-token.js';
import { withTimeout } from '../core/timing.js';
import type { AadBackendAuthLogger, TokenCache } from '../core/types.js';
import type { Purpose } from './target-state.js';

/** A shared cache gets this long per call before it counts as a miss. */
export const CACHE_TIMEOUT_MS = 1000;

/** Calls the cache; a failure or a timeout is a miss, logged at debug level, never an error. */
export async function cacheCall<T>(logger: AadBackendAuthLogger, call: () => T | PromiseLike<T>, what: string, timeoutMs = CACHE_TIMEOUT_MS): Promise<T | undefined> {
  try {
    return await withTimeout(call(), timeoutMs);
  } catch (error) {
    const reason = error instanceof Error ? error.message.slice(0, 200) : 'unknown error';
    logger.debug(`token cache ${what} failed, carrying on without it: ${reason}`);
    return undefined;
  }
}

export interface CacheReadContext {
  readonly cache: TokenCache;
  readonly logger: AadBackendAuthLogger;
  readonly key: string;
  readonly purpose: Purpose;
  readonly deadline: number;
  /** The token the starting provider holds, which a refresh must improve on. */
  readonly current: ProviderToken | undefined;
  /** A token that was evicted, never to be adopted again. */
  readonly evictedToken: string | undefined;
}

/** A token from the cache that a flight may use: usable, not evicted, and for a refresh, fresher than the current one. */
export async function readUsable(ctx: CacheReadContext): Promise<ProviderToken | undefined> {
  const timeoutMs = Math.min(CACHE_TIMEOUT_MS, Math.max(1, ctx.deadline - Date.now()));
  const now = Date.now();
  const stored = ProviderToken.fromStored(await cacheCall(ctx.logger, () => ctx.cache.get(ctx.key), 'get', timeoutMs), now);
  if (stored === undefined || stored.token === ctx.evictedToken) return undefined;
  if (now >= stored.useUntilTimestamp) return undefined;
  if (ctx.purpose === 'refresh') {
    const current = ctx.current;
    if (now >= stored.refreshAfterTimestamp || (current !== undefined && stored.expiresOnTimestamp <= current.expiresOnTimestamp)) return undefined;
  }
  return stored;
}
