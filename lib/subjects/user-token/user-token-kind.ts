import type { JWTPayload } from 'jose';
import type { ExchangeGrant } from '../../grants/exchange-source.js';

/**
 * Why `payload` is not a user token `grant` may exchange, or `undefined` when it may be.
 *
 * - `on-behalf-of`: only a delegated access token, one with a non-empty `scp`. App-only tokens
 *   (`roles` and no `scp`, or `idtyp: app`) and ID tokens (never an `scp`) are refused: Entra
 *   would refuse them too, after a token request each.
 * - `token-exchange`: other IdPs name scopes differently (Keycloak's `scope`), so no `scp` is
 *   asked for; what is evidently an ID token is refused (a `nonce` claim, or Keycloak's `typ: "ID"`).
 */
export function userTokenKindProblem(payload: JWTPayload, grant: ExchangeGrant): string | undefined {
  if (grant === 'token-exchange') {
    if (payload.nonce !== undefined) return 'an ID token (it has a nonce claim), not an access token';
    if (payload.typ === 'ID') return 'an ID token (typ "ID"), not an access token';
    return undefined;
  }
  if (payload.idtyp === 'app') return 'an app-only token (idtyp "app"), not a delegated access token';
  const { scp } = payload;
  if (typeof scp !== 'string' || scp.trim() === '') {
    return payload.roles !== undefined ? 'an app-only token (roles and no scp), not a delegated access token' : 'not a delegated access token (no scp claim)';
  }
  return undefined;
}
