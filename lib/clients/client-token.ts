import { toAadBackendAuthError } from '../errors.js';
import type { ProviderToken } from '../provider-token.js';
import type { TargetState } from '../provider/target-state.js';
import { isBearerChallenge } from './bearer-challenge.js';
import { evictRejectedToken } from './evict-rejected-token.js';
import type { ClientBinding } from './resolve-source.js';

/** Waits for a token when none is cached: joins the flight or starts one. Rejects only with `AadBackendAuthError`. */
export async function acquireFor(binding: ClientBinding, slot: TargetState): Promise<ProviderToken> {
  try {
    return await binding.provider.acquireToken(slot);
  } catch (error) {
    throw toAadBackendAuthError(error);
  }
}

/** After a 401 Bearer challenge, evicts the token the request carried, by the middleware's rule and cooldown. */
export function evictAfterUnauthorized(binding: ClientBinding, slot: TargetState, refused: ProviderToken, wwwAuthenticate: unknown): boolean {
  if (!isBearerChallenge(wwwAuthenticate)) return false;
  return evictRejectedToken(binding.provider, slot, refused, 401, wwwAuthenticate, binding.purgeCooldownMs);
}

/**
 * After a 401, the token to send the request again with, or `undefined` when it must not be sent again:
 * the 401 is not a Bearer challenge, or the provider still holds the refused token (the eviction
 * cooldown). Evicts the refused token by the middleware's rule, so concurrent 401s for one token
 * cause one token request: the first evicts and starts the flight, the others join it or find its token.
 */
export async function tokenAfterUnauthorized(
  binding: ClientBinding,
  slot: TargetState,
  refused: ProviderToken,
  wwwAuthenticate: unknown,
): Promise<ProviderToken | undefined> {
  if (!isBearerChallenge(wwwAuthenticate)) return undefined;
  evictRejectedToken(binding.provider, slot, refused, 401, wwwAuthenticate, binding.purgeCooldownMs);
  const next = binding.provider.cachedToken(slot) ?? (await acquireFor(binding, slot));
  return next.token === refused.token ? undefined : next;
}
