import type { ProviderToken } from '../provider/provider-token.js';
import type { TargetState } from '../provider/target-state.js';
import type { AadTokenProvider } from '../provider/token-provider.js';
import { insufficientClaims } from '../http/bearer-challenge.js';

/**
 * The backend refused `token`: evict it, at most once per `cooldownMs` per target. On a 401
 * claims challenge (CAE) the next token request also carries the claims, when the provider
 * declared `clientCapabilities` (see `AadTokenProvider.challenge`). Shared by the
 * middleware and the clients. Returns whether it evicted.
 */
export function evictRejectedToken(
  provider: AadTokenProvider,
  slot: TargetState,
  token: ProviderToken,
  status: number,
  wwwAuthenticate: unknown,
  cooldownMs: number,
): boolean {
  const claims = status === 401 ? insufficientClaims(wwwAuthenticate) : undefined;
  return claims === undefined ? provider.evictRejected(slot, token, cooldownMs) : provider.challenge(slot, token, claims, cooldownMs);
}
