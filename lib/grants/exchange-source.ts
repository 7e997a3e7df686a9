import type { AadBackendAuthError } from '../core/errors.js';
import type { TokenRequester } from './client-authentication.js';
import type { FetchedToken, TokenSource, TokenTarget } from './token-source.js';
import { parseJsonObject } from '../core/json.js';
import { userConsentRequired, userInteractionRequired, userTokenInvalid } from '../core/user-errors.js';
import { sanitiseClaims } from '../http/challenge.js';

export type ExchangeGrant = 'on-behalf-of' | 'token-exchange';

const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
/** Conditional Access and MFA: the user must sign in again (with the claims, when given). */
const INTERACTION_CODES = new Set(['AADSTS50076', 'AADSTS50079', 'AADSTS50158']);
const CONSENT_CODES = new Set(['AADSTS65001']);
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

/** The OAuth errors of a 4xx answer that are the user's to resolve, read before the generic mapping. */
function userErrorOf(status: number, body: string): AadBackendAuthError | undefined {
  if (status < 400 || status >= 500) return undefined;
  const answer = parseJsonObject(body);
  if (answer === undefined) return undefined;
  const error = typeof answer.error === 'string' ? answer.error : '';
  const suberror = typeof answer.suberror === 'string' ? answer.suberror : '';
  const codes = Array.isArray(answer.error_codes) ? answer.error_codes.filter((c): c is number => typeof c === 'number').map((c) => `AADSTS${c}`) : [];
  const description = typeof answer.error_description === 'string' ? answer.error_description : '';
  const described = description.match(/AADSTS\d+/)?.[0];
  if (described !== undefined) codes.push(described);
  const aadsts = codes[0];
  const label = aadsts === undefined ? error : `${error}, ${aadsts}`;
  if (error === 'consent_required' || suberror === 'consent_required' || codes.some((c) => CONSENT_CODES.has(c))) {
    return userConsentRequired(`the IdP answered ${label}`);
  }
  const claims = sanitiseClaims(answer.claims);
  const interaction = error === 'interaction_required' || codes.some((c) => INTERACTION_CODES.has(c)) || claims !== undefined;
  if (interaction && (error === 'invalid_grant' || error === 'interaction_required')) {
    return userInteractionRequired(`the IdP answered ${label}`, claims);
  }
  if (error === 'invalid_grant' && codes.some((c) => ASSERTION_TIME_CODES.has(c))) {
    return userTokenInvalid(`the IdP refused it (${label})`);
  }
  return undefined;
}
