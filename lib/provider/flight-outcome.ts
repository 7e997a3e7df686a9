import { toFailure, type AadBackendAuthError } from '../core/errors.js';
import type { ProviderToken } from './provider-token.js';
import type { AadBackendAuthLogger } from '../core/types.js';
import type { LockOutcome } from './fleet-lock.js';
import type { ProviderEvents } from './provider-events.js';
import type { ProviderCounters } from './provider-stats.js';
import { acceptToken, dropPendingClaims, pendingClaims, recordFailure, type Purpose, type TargetState } from './target-state.js';

/** What a provider records of a flight's outcome: its own target state, counters, log lines and events. */
export interface OutcomeContext {
  readonly logger: AadBackendAuthLogger;
  readonly events: ProviderEvents;
  readonly counters: ProviderCounters;
  readonly failureCooldownMs: number;
}

export function takeToken(ctx: OutcomeContext, target: TargetState, { token, origin, challenge }: LockOutcome, purpose: Purpose): ProviderToken {
  const pending = pendingClaims(target, Date.now());
  if (pending !== undefined) {
    // Only a token asked for with the challenge's claims settles the challenge.
    if (challenge !== pending) return token;
    target.pendingClaims = undefined;
  }
  if (acceptToken(target, token, purpose, Date.now())) {
    const { key } = target.target;
    ctx.logger.debug(`token for ${key} from ${origin}; expires in ${Math.round((token.expiresOnTimestamp - Date.now()) / 1000)} s`);
    ctx.events.emit('token', { key, source: origin, expiresOnTimestamp: token.expiresOnTimestamp });
  }
  return target.token ?? token;
}

/** `challenge`: the claims the failed flight carried, if any. */
export function takeFailure(ctx: OutcomeContext, target: TargetState, thrown: unknown, purpose: Purpose, challenge?: string): AadBackendAuthError {
  const error = toFailure(thrown, ctx.logger);
  // This provider closed: its callers were told; nothing went wrong with the IdP.
  if (error.code === 'ERR_CLOSED') return error;
  ctx.counters.failures++;
  ctx.counters.lastErrorCode = error.code;
  const { key } = target.target;
  if (challenge !== undefined && !error.transient) {
    // The IdP refused what a backend asked for (a challenge the app cannot meet, or a hostile one):
    // only the callers of this request see it. Nothing is remembered; the next request asks as usual.
    dropPendingClaims(target, challenge);
    ctx.logger.error(`no token for ${key} with a backend's claims challenge [${error.code}], dropping the challenge: ${error.message}`);
    ctx.events.emit('error', error);
    return error;
  }
  if (recordFailure(target, error, purpose, Date.now(), ctx.failureCooldownMs) === 'stale') {
    const until = new Date(target.token!.useUntilTimestamp).toISOString();
    ctx.logger.warn(`token refresh for ${key} failed, serving the cached token until ${until}: ${error.message}`);
  } else {
    ctx.logger.error(`no token for ${key} [${error.code}]: ${error.message}`);
  }
  ctx.events.emit('error', error);
  return error;
}
