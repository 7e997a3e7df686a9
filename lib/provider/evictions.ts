import type { ProviderToken } from './provider-token.js';
import type { AadBackendAuthLogger, TokenCache } from '../core/types.js';
import type { ProviderCounters } from './provider-stats.js';
import { cacheCall } from './cache-access.js';
import type { TargetMap } from './target-map.js';
import { evictIfHeld, setPendingClaims, type TargetState } from './target-state.js';

/**
 * Evicting tokens, the one name for it: on demand (`invalidate`), after a backend's 401
 * (with a cooldown per target), and after a claims challenge. An evicted token leaves the
 * cache too, and is never adopted from it or stored again.
 */
export class Evictions {
  readonly #counters: ProviderCounters;
  readonly #logger: AadBackendAuthLogger;
  readonly #cache: TokenCache;

  constructor(counters: ProviderCounters, logger: AadBackendAuthLogger, cache: TokenCache) {
    this.#counters = counters;
    this.#logger = logger;
    this.#cache = cache;
  }

  /** `token` wherever it is held, or every token when `undefined`. */
  evictMatching(targets: TargetMap, token: string | undefined): void {
    for (const target of targets.evict(token)) this.#deleteStored(target);
  }

  /** The token a request carried, after the backend rejected it: at most once per `cooldownMs` per target. */
  evictRejected(target: TargetState, token: ProviderToken, cooldownMs: number): boolean {
    if (!evictIfHeld(target, token.token, Date.now(), cooldownMs)) return false;
    this.#counters.evictions++;
    this.#logger.warn(`backend rejected the token for ${target.target.key}; evicting it`);
    this.#deleteStored(target);
    return true;
  }

  /** As {@link evictRejected}, and the next token request carries the challenge's `claims`. */
  challenge(target: TargetState, token: ProviderToken, claims: string, cooldownMs: number): boolean {
    if (!this.evictRejected(target, token, cooldownMs)) return false;
    setPendingClaims(target, claims, Date.now());
    // A flight in progress asked without the claims: new callers must not join it.
    target.pending = undefined;
    return true;
  }

  #deleteStored(target: TargetState): void {
    void cacheCall(this.#logger, () => this.#cache.delete(target.target.key), 'delete');
  }
}
