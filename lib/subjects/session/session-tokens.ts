import type { IncomingMessage } from 'node:http';
import { ProviderToken } from '../../provider/provider-token.js';
import type { TargetState } from '../../provider/target-state.js';
import { withTimeout } from '../../core/timing.js';
import type { AadBackendAuthLogger } from '../../core/types.js';
import type { Latest } from './redeem.js';
import type { UserTokens, UserTokenSession } from './types.js';

/** The session's own access token is not forwarded in its last 30 seconds. */
const OWN_TOKEN_MARGIN_MS = 30_000;

/**
 * The session's own access token while it has more than 30 s left, unless it was evicted (a
 * backend refused it). Kept in the family's state, so a warm session allocates nothing.
 */
export function ownToken(tokens: UserTokens, state: TargetState, now: number): ProviderToken | undefined {
  const { accessToken, expiresAt } = tokens;
  if (typeof accessToken !== 'string' || typeof expiresAt !== 'number' || !(now < expiresAt - OWN_TOKEN_MARGIN_MS)) return undefined;
  const held = state.token;
  // The number first: the session's token is a new copy on each request, compared character by character.
  if (held !== undefined && held.expiresOnTimestamp === Math.floor(expiresAt) && held.token === accessToken) return held;
  if (accessToken === state.evictedToken) return undefined;
  const useUntil = expiresAt - OWN_TOKEN_MARGIN_MS;
  const own = ProviderToken.fromStored({ token: accessToken, expiresOnTimestamp: expiresAt, refreshAfterTimestamp: useUntil, useUntilTimestamp: useUntil }, now);
  if (own !== undefined && (held === undefined || own.expiresOnTimestamp > held.expiresOnTimestamp)) state.token = own;
  return own;
}

/**
 * What the session holds after a refresh: the newest refresh token, and the new access token as
 * the session's own when the middleware forwards the own token (`own`); `undefined` when nothing changed.
 */
export function nextTokens(tokens: UserTokens, latest: Latest, own: boolean): UserTokens | undefined {
  if (own) {
    const { access } = latest;
    return { refreshToken: latest.refreshToken, accessToken: access.token, expiresAt: access.expiresOnTimestamp, scope: latest.grantedScope ?? tokens.scope };
  }
  return latest.refreshToken === tokens.refreshToken ? undefined : { ...tokens, refreshToken: latest.refreshToken };
}

/** `session.set`, bounded by `timeoutMs`: the refresh's flight (and the fleet lock) waits for it. Never rejects. */
export async function writeSession(session: UserTokenSession, req: IncomingMessage, next: UserTokens, timeoutMs: number, logger: AadBackendAuthLogger): Promise<void> {
  try {
    await withTimeout(Promise.resolve().then(() => session.set(req, next)), timeoutMs);
  } catch {
    // The hand-off keeps the rotated tokens for a while: a later request of this session takes them from there.
    logger.warn('session.set failed after a refresh; the session will take the rotated tokens on its next request');
  }
}

/** `session.clear`, if any, after the IdP refused the refresh token. Never rejects. */
export async function clearSession(session: UserTokenSession, req: IncomingMessage, timeoutMs: number, logger: AadBackendAuthLogger): Promise<void> {
  try {
    await withTimeout(Promise.resolve().then(() => session.clear?.(req)), timeoutMs);
  } catch {
    logger.warn('session.clear failed');
  }
}
