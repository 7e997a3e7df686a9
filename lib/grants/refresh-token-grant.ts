import { AadBackendAuthError } from '../core/errors.js';
import { userErrorOfAnswer } from './user-errors-of-answer.js';
import { malformed } from './token-response.js';
import type { TokenRequester } from './client-authentication.js';
import type { FetchedToken } from './token-source.js';

/** Form fields the grant sets itself: `tokenParameters` may not replace them. */
export const REFRESH_RESERVED_PARAMETERS = ['refresh_token'] as const;

/** No honest refresh token comes near this; it is stored in sessions and caches. */
export const MAX_REFRESH_TOKEN_LENGTH = 16 * 1024;
const MAX_SCOPE_LENGTH = 4096;
/** Printable ASCII without spaces: what a refresh token of any IdP is made of. */
const TOKEN_CHARS = /^[\x21-\x7e]+$/;

/** Whether `value` can be a refresh token: a non-empty string of printable ASCII without spaces, at most 16 KiB. */
export function isUsableRefreshToken(value: unknown): value is string {
  return typeof value === 'string' && value.length <= MAX_REFRESH_TOKEN_LENGTH && TOKEN_CHARS.test(value);
}

/** What one redemption of a refresh token brought. Holds tokens: never logged, never serialised. */
export interface RefreshedTokens {
  /** The access token, with its lifetime relative to the answer. */
  readonly fetched: FetchedToken;
  /** The rotated refresh token; `undefined` when the IdP sent none (then the one redeemed stays valid). */
  readonly refreshToken: string | undefined;
  /** The scope the IdP granted, when it said. */
  readonly scope: string | undefined;
}

/** The `refresh_token` grant of one client at one token endpoint. */
export interface RefreshTokenGrant {
  /** Names authority, client and token parameters in cache keys; never a secret. */
  readonly id: string;
  /** The token endpoint's host, for telemetry. */
  readonly serverAddress: string;
  /**
   * Redeems `refreshToken`, sending `scope` only when given, exactly as given. Rejects with
   * `ERR_USER_SESSION_EXPIRED` (`invalid_grant`), `ERR_USER_INTERACTION_REQUIRED`,
   * `ERR_USER_CONSENT_REQUIRED`, or the errors of any token request.
   */
  redeem(refreshToken: string, scope: string | undefined, signal: AbortSignal): Promise<RefreshedTokens>;
}

export interface RefreshTokenGrantOptions {
  readonly tokenEndpoint: string;
  readonly id: string;
  /** Adds the client's authentication (secret, Basic, certificate, assertion) and posts the form. */
  readonly requester: TokenRequester;
  /** Extra form fields (`tokenParameters`), already checked against the reserved ones. */
  readonly tokenParameters: readonly (readonly [string, string])[];
}

export function sessionExpired(why: string): AadBackendAuthError {
  return new AadBackendAuthError('ERR_USER_SESSION_EXPIRED', `The user session has expired: ${why}`);
}

/**
 * The refresh-token grant (RFC 6749 §6), posted by the same requester as every other grant, so
 * every client authentication, proxy and CA applies. The refresh token is scrubbed from whatever
 * the IdP answers, like the client's credential.
 */
export function createRefreshTokenGrant(options: RefreshTokenGrantOptions): RefreshTokenGrant {
  const { requester, tokenEndpoint, tokenParameters } = options;

  async function redeem(refreshToken: string, scope: string | undefined, signal: AbortSignal): Promise<RefreshedTokens> {
    const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken });
    if (scope !== undefined) form.set('scope', scope);
    for (const [name, value] of tokenParameters) form.append(name, value);
    let answer: Record<string, unknown> | undefined;
    const secrets = [refreshToken, encodeURIComponent(refreshToken)];
    const fetched = await requester.postTokenRequest(form, tokenEndpoint, signal, {
      secrets,
      refine: userErrorOf,
      readAnswer: (read) => void (answer = read),
    });
    return { fetched, refreshToken: rotated(answer?.refresh_token), scope: grantedScope(answer?.scope) };
  }

  return { id: options.id, serverAddress: new URL(tokenEndpoint).hostname, redeem };
}

function rotated(value: unknown): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (!isUsableRefreshToken(value)) {
    throw malformed('a refresh_token that is not a string of printable characters');
  }
  return value;
}

function grantedScope(value: unknown): string | undefined {
  return typeof value === 'string' && value.length <= MAX_SCOPE_LENGTH && value.trim() !== '' ? value.trim() : undefined;
}

/** The user's errors of a refresh's 4xx answer; `invalid_grant` means the session is over. */
function userErrorOf(status: number, body: string): AadBackendAuthError | undefined {
  return userErrorOfAnswer(status, body, (label) => sessionExpired(`the IdP refused the refresh token (${label})`));
}
