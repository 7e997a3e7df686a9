import { parseJsonObject } from '../core/json.js';
import { AadBackendAuthError, type OAuthErrorDetails } from '../core/errors.js';
import type { FetchedToken } from './token-source.js';

/** Tokens claiming to live longer than this are clamped to it. */
export const MAX_TOKEN_LIFETIME_SECONDS = 24 * 60 * 60;
/** RFC 6750 b64token, which is all that may follow "Bearer " in a header. */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;
const MAX_TOKEN_LENGTH = 32 * 1024;
const MAX_DESCRIPTION_LENGTH = 600;

export function isHeaderSafeToken(token: unknown): token is string {
  return typeof token === 'string' && token.length <= MAX_TOKEN_LENGTH && B64TOKEN.test(token);
}

export function malformed(problem: string, idpStatus?: number): AadBackendAuthError {
  return new AadBackendAuthError('ERR_IDP_MALFORMED_RESPONSE', `The token endpoint answered with ${problem}`, {
    idpStatus,
  });
}

/** Seconds as a JSON number or a numeric string (Entra v1 sends strings). */
function parseSeconds(value: unknown): number | undefined {
  const seconds = typeof value === 'number' ? value : typeof value === 'string' && /^\d+(?:\.\d+)?$/.test(value) ? Number(value) : NaN;
  return Number.isFinite(seconds) && seconds > 0 ? seconds : undefined;
}


/** Turns a 2xx token-endpoint answer into a token, or throws a malformed-response error. */
export function parseTokenResponse(body: string, contentType: string | undefined, status: number): FetchedToken {
  if (contentType !== undefined && /html/i.test(contentType)) return fail('an HTML page instead of a token');
  const answer = parseJsonObject(body) ?? fail('something that is not a JSON object');
  if (!('access_token' in answer)) return fail('no access_token');
  if (!isHeaderSafeToken(answer.access_token)) return fail('an access_token that is not a valid RFC 6750 b64token');
  if (typeof answer.token_type !== 'string' || answer.token_type.toLowerCase() !== 'bearer') {
    return fail('a token_type other than Bearer');
  }
  const expiresIn = parseSeconds(answer.expires_in);
  if (expiresIn === undefined) return fail('a missing, zero, negative or non-numeric expires_in');
  const lifetime = Math.min(expiresIn, MAX_TOKEN_LIFETIME_SECONDS);
  const refreshIn = parseSeconds(answer.refresh_in);
  return {
    token: answer.access_token,
    expiresInMs: lifetime * 1000,
    refreshInMs: refreshIn !== undefined && refreshIn < lifetime ? refreshIn * 1000 : undefined,
  };

  function fail(problem: string): never {
    throw malformed(problem, status);
  }
}

/** Reads an OAuth error body (RFC 6749 §5.2, with Entra's extra fields). */
export function parseOAuthError(body: string, scrub: (text: string) => string): OAuthErrorDetails | undefined {
  const answer = parseJsonObject(body);
  if (typeof answer?.error !== 'string') return undefined;
  const description = typeof answer.error_description === 'string' ? scrub(answer.error_description).slice(0, MAX_DESCRIPTION_LENGTH) : undefined;
  const codes = Array.isArray(answer.error_codes) ? answer.error_codes : [];
  const aadsts = description?.match(/AADSTS(\d+)/)?.[0] ?? (typeof codes[0] === 'number' ? `AADSTS${codes[0]}` : undefined);
  return {
    error: scrub(answer.error).slice(0, 100),
    ...(aadsts !== undefined && { aadsts }),
    ...(typeof answer.trace_id === 'string' && { traceId: scrub(answer.trace_id).slice(0, 100) }),
    ...(typeof answer.correlation_id === 'string' && { correlationId: scrub(answer.correlation_id).slice(0, 100) }),
    ...(description !== undefined && { description }),
  };
}

/** One line for operators: the OAuth error, AADSTS code, trace and correlation ids. */
export function describeOAuthError(details: OAuthErrorDetails): string {
  const parts = [details.error];
  if (details.aadsts !== undefined) parts.push(details.aadsts);
  if (details.traceId !== undefined) parts.push(`trace id ${details.traceId}`);
  if (details.correlationId !== undefined) parts.push(`correlation id ${details.correlationId}`);
  return parts.join(', ');
}

/** `Retry-After` as delta-seconds or an HTTP-date (RFC 9110 §10.2.3), in whole seconds from now. */
export function parseRetryAfter(value: unknown, now = Date.now()): number | undefined {
  if (typeof value !== 'string' || value === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - now) / 1000));
}
