import { toAadBackendAuthError } from '../core/errors.js';
import { userInteractionRequired } from '../core/user-errors.js';
import { sanitiseClaims } from '../http/user-challenge.js';
import type { ProviderToken } from '../provider/provider-token.js';
import type { TargetState } from '../provider/target-state.js';
import { insufficientClaims, isBearerChallenge } from '../http/bearer-challenge.js';
import { evictRejectedToken } from './evict-rejected-token.js';
import type { ClientBinding } from './resolve-source.js';

/** Waits for a token when none is cached: joins the flight or starts one. Rejects only with `AadBackendAuthError`. */
export async function acquireFor(binding: ClientBinding, slot: TargetState): Promise<ProviderToken> {
  try {
    const token = await binding.provider.acquireToken(slot);
    // An exchanged token is never sent past the user token it came from, which may have expired during the exchange.
    return binding.users === undefined ? token : binding.users.usable(token);
  } catch (error) {
    throw toAadBackendAuthError(error);
  }
}

/**
 * After a 401 Bearer challenge, evicts the token the request carried, by the middleware's rule and cooldown.
 * Throws `ERR_USER_INTERACTION_REQUIRED` for a claims challenge to a delegated token (see {@link refuseUserClaimsChallenge}).
 */
export function evictAfterUnauthorized(binding: ClientBinding, slot: TargetState, refused: ProviderToken, wwwAuthenticate: unknown): boolean {
  if (!isBearerChallenge(wwwAuthenticate)) return false;
  refuseUserClaimsChallenge(binding, slot, refused, wwwAuthenticate);
  return evictRejectedToken(binding.provider, slot, refused, 401, wwwAuthenticate, binding.purgeCooldownMs);
}

/**
 * After a 401, the token to send the request again with, or `undefined` when it must not be sent again:
 * the 401 is not a Bearer challenge, or the provider still holds the refused token (the eviction
 * cooldown). Evicts the refused token by the middleware's rule, so concurrent 401s for one token
 * cause one token request: the first evicts and starts the flight, the others join it or find its token.
 * Throws `ERR_USER_INTERACTION_REQUIRED` for a claims challenge to a delegated token.
 */
export async function tokenAfterUnauthorized(
  binding: ClientBinding,
  slot: TargetState,
  refused: ProviderToken,
  wwwAuthenticate: unknown,
): Promise<ProviderToken | undefined> {
  if (!isBearerChallenge(wwwAuthenticate)) return undefined;
  refuseUserClaimsChallenge(binding, slot, refused, wwwAuthenticate);
  evictRejectedToken(binding.provider, slot, refused, 401, wwwAuthenticate, binding.purgeCooldownMs);
  const next = binding.provider.cachedToken(slot) ?? (await acquireFor(binding, slot));
  return next.token === refused.token ? undefined : next;
}

/**
 * A claims challenge (CAE) to a delegated (on-behalf-of) token cannot be met by the BFF: a new
 * exchange of the same user token would lack the claims too. Only the user can satisfy them, by
 * signing in again. So the refused token is evicted (the usual rule and cooldown), nothing is sent
 * again, and the call rejects with `ERR_USER_INTERACTION_REQUIRED` carrying the claims, as the
 * `aadOnBehalfOf` middleware does when Entra itself asks for them. App tokens are not concerned.
 */
function refuseUserClaimsChallenge(binding: ClientBinding, slot: TargetState, refused: ProviderToken, wwwAuthenticate: unknown): void {
  if (binding.users === undefined) return;
  const claims = insufficientClaims(wwwAuthenticate);
  if (claims === undefined) return;
  binding.provider.evictRejected(slot, refused, binding.purgeCooldownMs);
  throw userInteractionRequired('the backend answered a claims challenge to the delegated token', sanitiseClaims(claims));
}
