import type { AadBackendAuthError } from '../core/errors.js';
import type { TokenRequester } from './client-authentication.js';
import type { FetchedToken, TokenSource, TokenTarget } from './token-source.js';
import { userTokenInvalid } from '../core/user-errors.js';
import { userErrorOfAnswer } from './user-errors-of-answer.js';

export type ExchangeGrant = 'on-behalf-of' | 'token-exchange';

const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
/** The assertion expired or is not yet valid at the IdP: the user token is at fault, not the gateway. */
const ASSERTION_TIME_CODES = new Set(['AADSTS500133']);

/** Form fields each exchange sets itself, beyond those every grant reserves: `tokenParameters` may not replace them. */
export const EXCHANGE_RESERVED_PARAMETERS = ['requested_token_use', 'subject_token', 'subject_token_type'] as const;

export interface ExchangeSourceOptions {
  readonly grant: ExchangeGrant;
  /** The token endpoint for a tenant (fixed for `token-exchange`). */
  readonly tokenEndpoint: (tenantId: string | undefined) => string;
  /** Identifies authority, client, grant and token parameters in cache keys. */
  readonly id: string;
  /** Adds the client's authentication (secret, Basic, certificate, assertion) and posts the form. */
  readonly requester: TokenRequester;
  /** Extra form fields (`tokenParameters`), already checked against the reserved ones. */
  readonly tokenParameters: readonly (readonly [string, string])[];
}

/**
 * Exchanges the user's token (the target's `assertion`) for a delegated token:
 * Entra on-behalf-of, or RFC 8693 token exchange. Posted by the same requester as
 * app tokens, so every client authentication, proxy and CA applies; the user's
 * token is scrubbed from whatever the IdP answers, like the client's credential.
 */
export function createExchangeSource(options: ExchangeSourceOptions): TokenSource {
  const { grant, requester, tokenEndpoint, tokenParameters } = options;

  function fetchToken(target: TokenTarget, signal: AbortSignal): Promise<FetchedToken> {
    const assertion = target.assertion ?? '';
    // Exactly the configured scopes: no openid, profile or offline_access, so no refresh token comes back.
    const scope = target.scopes.join(' ');
    const form =
      grant === 'on-behalf-of'
        ? new URLSearchParams({ grant_type: JWT_BEARER, requested_token_use: 'on_behalf_of', assertion, scope })
        : new URLSearchParams({ grant_type: TOKEN_EXCHANGE, subject_token: assertion, subject_token_type: ACCESS_TOKEN_TYPE, scope });
    for (const [name, value] of tokenParameters) form.append(name, value);
    // The whole token and its signature alone: an IdP may echo either.
    const secrets = [assertion, assertion.slice(assertion.lastIndexOf('.') + 1)];
    return requester.postTokenRequest(form, tokenEndpoint(target.tenantId), signal, { secrets, refine: userErrorOf });
  }

  // Per-user grants: telemetry never makes a gauge series of them.
  return {
    id: options.id,
    grant: grant === 'on-behalf-of' ? 'on_behalf_of' : 'token_exchange',
    serverAddress: new URL(tokenEndpoint(undefined)).hostname,
    fetchToken,
  };
}

/** The user's errors of an exchange's 4xx answer; an expired or not-yet-valid assertion is the user token's fault. */
function userErrorOf(status: number, body: string): AadBackendAuthError | undefined {
  return userErrorOfAnswer(status, body, (label, codes) => (codes.some((c) => ASSERTION_TIME_CODES.has(c)) ? userTokenInvalid(`the IdP refused it (${label})`) : undefined));
}
