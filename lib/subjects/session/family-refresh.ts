import { AadBackendAuthError } from '../../core/errors.js';
import type { ProviderToken } from '../../provider/provider-token.js';
import { evict, recordFailure, type TargetState } from '../../provider/target-state.js';

/** A failed refresh as a request sees it: a defect becomes `ERR_INTERNAL`, saying nothing more. */
export function refreshFailure(error: unknown): AadBackendAuthError {
  return error instanceof AadBackendAuthError ? error : new AadBackendAuthError('ERR_INTERNAL', 'An internal error occurred while refreshing the session');
}

/**
 * Starts the refresh of a family (`redeem`) as its state's one flight, and records its outcome on
 * the state: a newer token is held and the failure memory cleared; a refused refresh token evicts
 * the family's token; any other failure is remembered for `failureCooldownMs`.
 */
export function refreshFamily(state: TargetState, redeem: () => Promise<ProviderToken>, failureCooldownMs: number): Promise<ProviderToken> {
  const started = redeem().then(
    (token) => {
      if (state.pending === started) state.pending = undefined;
      if (state.token === undefined || token.expiresOnTimestamp > state.token.expiresOnTimestamp) state.token = token;
      state.failure = undefined;
      state.refreshFailures = 0;
      state.refreshNotBefore = 0;
      return token;
    },
    (error: unknown) => {
      if (state.pending === started) state.pending = undefined;
      const failure = refreshFailure(error);
      if (failure.code === 'ERR_USER_SESSION_EXPIRED') evict(state);
      else recordFailure(state, failure, 'acquire', Date.now(), failureCooldownMs);
      throw failure;
    },
  );
  state.pending = started;
  return started;
}
