import type { AadBackendAuthError } from '../core/errors.js';
import type { ProviderToken } from './provider-token.js';
import type { TokenTarget } from '../grants/token-source.js';
import { backoffMs } from '../core/timing.js';

/**
 * One target's state in one provider, and the arithmetic of refreshes, back-off and
 * failure memory. Pure: every function takes `now`, so it is tested without real time.
 */

/** Failed acquisitions are remembered at most this long: the gateway always tries again within 5 s. */
const MAX_FAILURE_MEMORY_MS = 5000;
const REFRESH_BACKOFF_BASE_MS = 1000;
const REFRESH_BACKOFF_CAP_MS = 30_000;
/** Failed refreshes are never tried closer together than this, even near expiry. */
const REFRESH_MIN_SPACING_MS = 1000;
const RETRY_BASE_MS = 200;
const RETRY_CAP_MS = 2000;
/** A backend's claims challenge is carried for at most this long, then forgotten. */
export const CLAIMS_CHALLENGE_TTL_MS = 5 * 60_000;

export type Purpose = 'acquire' | 'refresh';

export interface TargetState {
  readonly target: TokenTarget;
  token: ProviderToken | undefined;
  /** Its provider let it go (an LRU eviction, or `close()`): whoever kept it must ask the provider again. */
  retired: boolean;
  /** This provider's wait on the target's flight, if any. */
  pending: Promise<ProviderToken> | undefined;
  failure: { readonly error: AadBackendAuthError; readonly until: number } | undefined;
  refreshNotBefore: number;
  refreshFailures: number;
  /** The last token evicted, never to be adopted or stored again. */
  evictedToken: string | undefined;
  lastEvictionAt: number;
  /** A backend's claims challenge: the next token request (one only) carries it and skips the cache. */
  pendingClaims: PendingClaims | undefined;
}

export interface PendingClaims {
  /** The challenge's claims (JSON). */
  readonly claims: string;
  /** When the challenge is forgotten, asked for or not (ms since the epoch). */
  readonly until: number;
}

export function newTargetState(target: TokenTarget): TargetState {
  return {
    // `token` and `retired` first, side by side: a warm cookie session reads only these two.
    target,
    token: undefined,
    retired: false,
    pending: undefined,
    failure: undefined,
    refreshNotBefore: 0,
    refreshFailures: 0,
    evictedToken: undefined,
    lastEvictionAt: -Infinity,
    pendingClaims: undefined,
  };
}

export function usableToken(state: TargetState, now: number): ProviderToken | undefined {
  const token = state.token;
  return token !== undefined && now < token.useUntilTimestamp ? token : undefined;
}

/** Whether a background refresh should start now. */
export function refreshDue(state: TargetState, now: number): boolean {
  return state.pending === undefined && now >= state.token!.refreshAfterTimestamp && now >= state.refreshNotBefore;
}

/** The remembered failure callers get instead of a new attempt, if any. */
export function rememberedFailure(state: TargetState, now: number): AadBackendAuthError | undefined {
  const failure = state.failure;
  return failure !== undefined && now < failure.until ? failure.error : undefined;
}

/** Records a backend's claims challenge, replacing any earlier one; it lives {@link CLAIMS_CHALLENGE_TTL_MS}. */
export function setPendingClaims(state: TargetState, claims: string, now: number): void {
  state.pendingClaims = { claims, until: now + CLAIMS_CHALLENGE_TTL_MS };
}

/** The claims the next token request must carry, if any; an expired challenge is dropped here. */
export function pendingClaims(state: TargetState, now: number): string | undefined {
  const pending = state.pendingClaims;
  if (pending === undefined) return undefined;
  if (now < pending.until) return pending.claims;
  state.pendingClaims = undefined;
  return undefined;
}

/** Drops the pending challenge if it is still `claims` (a later challenge stays). */
export function dropPendingClaims(state: TargetState, claims: string): void {
  if (state.pendingClaims?.claims === claims) state.pendingClaims = undefined;
}

/** Takes a token a flight brought. Returns whether it replaced the held one. */
export function acceptToken(state: TargetState, token: ProviderToken, purpose: Purpose, now: number): boolean {
  state.failure = undefined;
  const previous = state.token;
  if (previous !== undefined && token.expiresOnTimestamp <= previous.expiresOnTimestamp) {
    // A refresh that brought nothing newer (a credential's own cache, say) backs off like a failure.
    if (purpose === 'refresh') backOffRefresh(state, undefined, now);
    return false;
  }
  state.token = token;
  state.refreshFailures = 0;
  state.refreshNotBefore = 0;
  return true;
}

/** Records a failed flight: `'stale'` when a usable token is still served, `'failed'` when callers get the error. */
export function recordFailure(state: TargetState, error: AadBackendAuthError, purpose: Purpose, now: number, failureCooldownMs: number): 'stale' | 'failed' {
  const usable = usableToken(state, now) !== undefined;
  if (purpose === 'refresh' || usable) backOffRefresh(state, error.retryAfterSeconds, now);
  if (usable) return 'stale';
  const retryMs = (error.retryAfterSeconds ?? 0) * 1000;
  state.failure = { error, until: now + Math.min(MAX_FAILURE_MEMORY_MS, Math.max(failureCooldownMs, retryMs)) };
  return 'failed';
}

export function backOffRefresh(state: TargetState, retryAfterSeconds: number | undefined, now: number, random?: () => number): void {
  const backoff = backoffMs(state.refreshFailures++, REFRESH_BACKOFF_BASE_MS, REFRESH_BACKOFF_CAP_MS, random);
  // Try again before the token stops being usable, whatever the back-off says, but halving the time
  // left must not turn into a burst of refreshes in the token's last moments.
  const latest = state.token === undefined ? Infinity : Math.max(REFRESH_MIN_SPACING_MS, (state.token.useUntilTimestamp - now) / 2);
  state.refreshNotBefore = now + Math.min(Math.max(backoff, (retryAfterSeconds ?? 0) * 1000), latest);
}

/**
 * Evicts `token` if it is still the one held and no eviction happened within `cooldownMs`,
 * so a backend that rejects every token cannot make the provider hammer the IdP.
 */
export function evictIfHeld(state: TargetState, token: string, now: number, cooldownMs: number): boolean {
  if (state.token?.token !== token || now - state.lastEvictionAt < cooldownMs) return false;
  state.lastEvictionAt = now;
  evict(state);
  return true;
}

export function evict(state: TargetState): void {
  state.evictedToken = state.token?.token ?? state.evictedToken;
  state.token = undefined;
}

/** How long to wait before retry `attempt` (0-based) of a token request: Retry-After is a floor, never a licence to skip the back-off. */
export function retryDelayMs(attempt: number, retryAfterSeconds: number | undefined, random?: () => number): number {
  return Math.max(backoffMs(attempt, RETRY_BASE_MS, RETRY_CAP_MS, random), (retryAfterSeconds ?? 0) * 1000);
}
