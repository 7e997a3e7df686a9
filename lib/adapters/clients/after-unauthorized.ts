import type { IncomingMessage } from 'node:http';
import type { TokenGateway } from '../../gateway/token-gateway.js';
import { isBearerChallenge } from '../../http/challenge.js';
import type { ProviderToken } from '../../provider/provider-token.js';
import type { TargetState } from '../../provider/target-state.js';

/**
 * After a backend's 401: evicts the token the request carried when the 401 is a Bearer challenge
 * (by the gateway's rule and cooldown, so concurrent 401s for one token cause one token request),
 * then gives the token to send the request again with, or `undefined` when it must not be sent
 * again: no `retry`, not a Bearer challenge, or the provider still holds the refused token (the
 * eviction cooldown). Rejects with `ERR_USER_INTERACTION_REQUIRED` for a claims challenge that
 * only the user can meet.
 */
export async function tokenAfterUnauthorized(
  gateway: TokenGateway,
  state: TargetState,
  refused: ProviderToken,
  wwwAuthenticate: unknown,
  retry: boolean,
  req: IncomingMessage | undefined,
): Promise<ProviderToken | undefined> {
  if (!isBearerChallenge(wwwAuthenticate)) return undefined;
  gateway.backendRefused(state, refused, 401, wwwAuthenticate);
  if (!retry) return undefined;
  // The whole flow again for the same request: a subject that obtains its own tokens (a session) reads it anew.
  const { token } = await gateway.issue(req);
  return token.token === refused.token ? undefined : token;
}
