import type { AadBackendAuthError } from '../errors.js';
import { parseJsonObject } from '../token-response.js';

/** Claims challenges longer than this are not passed on: no honest one comes near it, and it goes in a header. */
const MAX_CLAIMS_LENGTH = 4096;

/**
 * The `WWW-Authenticate` challenge (RFC 6750 §3) for a user-token error, or `undefined`
 * for every other error. `claims` is base64 JSON, as MSAL.js expects for a step-up.
 */
export function wwwAuthenticateFor(error: AadBackendAuthError): string | undefined {
  switch (error.code) {
    case 'ERR_USER_TOKEN_MISSING':
      return 'Bearer';
    case 'ERR_USER_TOKEN_INVALID':
      return 'Bearer error="invalid_token"';
    case 'ERR_USER_INTERACTION_REQUIRED': {
      const claims = error.claims;
      if (claims === undefined) return 'Bearer error="insufficient_claims"';
      return `Bearer error="insufficient_claims", claims="${Buffer.from(claims, 'utf8').toString('base64')}"`;
    }
    case 'ERR_USER_CONSENT_REQUIRED':
      return 'Bearer error="insufficient_scope"';
    default:
      return undefined;
  }
}

/** The IdP's `claims` member, kept only when it is a JSON object of bounded size. */
export function sanitiseClaims(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_CLAIMS_LENGTH) return undefined;
  const parsed = parseJsonObject(value);
  return parsed === undefined ? undefined : JSON.stringify(parsed);
}

/** Short, generic texts for the problem document: the client learns what to do, not the IdP's words. */
export const USER_ERROR_DETAILS: Readonly<Partial<Record<AadBackendAuthError['code'], string>>> = {
  ERR_USER_TOKEN_MISSING: 'The request carries no user token.',
  ERR_USER_TOKEN_INVALID: 'The user token is invalid or expired.',
  ERR_USER_INTERACTION_REQUIRED: 'The user must sign in again to satisfy the access policy (see WWW-Authenticate).',
  ERR_USER_CONSENT_REQUIRED: 'The user has not consented to the requested permissions.',
  ERR_USER_SESSION_EXPIRED: 'The user session has expired. Sign in again.',
  ERR_ANTIFORGERY: 'The request lacks the anti-forgery header.',
};
