import type { AxiosResponse } from 'axios';
import type { AadBackendAuthError } from '../errors.js';
import { createTokenHttp, interpret, requestFailed } from '../sources/token-request.js';
import type { FetchedToken, TokenSource, TokenTarget } from '../sources/token-source.js';
import { userConsentRequired, userInteractionRequired, userTokenInvalid } from './user-errors.js';
import { sanitiseClaims } from './www-authenticate.js';

export type ExchangeGrant = 'on-behalf-of' | 'token-exchange';

const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
/** Conditional Access and MFA: the user must sign in again (with the claims, when given). */
const INTERACTION_CODES = new Set(['AADSTS50076', 'AADSTS50079', 'AADSTS50158']);
const CONSENT_CODES = new Set(['AADSTS65001']);
/** The assertion expired or is not yet valid at the IdP: the user token is at fault, not the gateway. */
const ASSERTION_TIME_CODES = new Set(['AADSTS500133']);

export interface ExchangeSourceOptions {
  readonly grant: ExchangeGrant;
  /** The token endpoint for a tenant (fixed for `token-exchange`). */
  readonly tokenEndpoint: (tenantId: string | undefined) => string;
  /** Identifies authority, client and grant in cache keys. */
  readonly id: string;
  readonly clientId: string;
  readonly clientSecret: string;
}

/**
 * Exchanges the user's token (the target's `assertion`) for a delegated token:
 * Entra on-behalf-of, or RFC 8693 token exchange. The same HTTP rules as the
 * client-credentials source: private axios instance, no redirects, bounded body.
 */
export function createExchangeSource(options: ExchangeSourceOptions): TokenSource {
  const { grant, clientId, clientSecret, tokenEndpoint } = options;
  const http = createTokenHttp();

  async function fetchToken(target: TokenTarget, signal: AbortSignal): Promise<FetchedToken> {
    const assertion = target.assertion ?? '';
    const scrub = (text: string): string => text.split(clientSecret).join('[REDACTED]').split(assertion || '\u0000').join('[REDACTED]');
    const url = tokenEndpoint(target.tenantId);
    // Exactly the configured scopes: no openid, profile or offline_access, so no refresh token comes back.
    const form =
      grant === 'on-behalf-of'
        ? new URLSearchParams({ grant_type: JWT_BEARER, requested_token_use: 'on_behalf_of', assertion, scope: target.scopes.join(' ') })
        : new URLSearchParams({ grant_type: TOKEN_EXCHANGE, subject_token: assertion, subject_token_type: ACCESS_TOKEN_TYPE, scope: target.scopes.join(' ') });
    form.set('client_id', clientId);
    form.set('client_secret', clientSecret);
    let response: AxiosResponse<string>;
    try {
      response = await http.post<string>(url, form.toString(), { signal });
    } catch (error) {
      throw requestFailed(error, url, signal, scrub);
    }
    const userError = userErrorOf(response);
    if (userError !== undefined) throw userError;
    return interpret(response, scrub);
  }

  // Per-user grants: telemetry never makes a gauge series of them.
  return { id: options.id, grant: grant === 'on-behalf-of' ? 'on_behalf_of' : 'token_exchange', fetchToken };
}

/** The OAuth errors that are the user's to resolve, read before the generic mapping. */
function userErrorOf(response: AxiosResponse<string>): AadBackendAuthError | undefined {
  if (response.status < 400 || response.status >= 500 || typeof response.data !== 'string') return undefined;
  let answer: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(response.data);
    if (parsed === null || typeof parsed !== 'object') return undefined;
    answer = parsed as Record<string, unknown>;
  } catch {
    return undefined;
  }
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
