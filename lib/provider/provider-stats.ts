import type { TokenProviderStats } from '../core/types.js';
import type { TargetState } from './target-state.js';

/** The provider's counters; `snapshot` adds what is read off the held targets. */
export class ProviderCounters {
  cacheHits = 0;
  waits = 0;
  tokenRequests = 0;
  refreshes = 0;
  failures = 0;
  evictions = 0;
  lastErrorCode: string | undefined;

  snapshot(states: Iterable<TargetState>, keys: number): TokenProviderStats {
    let expiresOn: number | undefined;
    for (const state of states) {
      const token = state.token;
      if (token !== undefined && (expiresOn === undefined || token.expiresOnTimestamp > expiresOn)) expiresOn = token.expiresOnTimestamp;
    }
    return {
      cacheHits: this.cacheHits,
      waits: this.waits,
      tokenRequests: this.tokenRequests,
      refreshes: this.refreshes,
      failures: this.failures,
      evictions: this.evictions,
      keys,
      lastErrorCode: this.lastErrorCode,
      tokenExpiresOnTimestamp: expiresOn,
    };
  }
}
