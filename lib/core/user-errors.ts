import { AadBackendAuthError } from './errors.js';

/** The errors of `aadOnBehalfOf` that concern the user, with the statuses the issue fixes. Messages never hold a token. */
export function userTokenMissing(why: string): AadBackendAuthError {
  return new AadBackendAuthError('ERR_USER_TOKEN_MISSING', `No user token: ${why}`);
}

export function userTokenInvalid(why: string): AadBackendAuthError {
  return new AadBackendAuthError('ERR_USER_TOKEN_INVALID', `The user token is invalid: ${why}`);
}

export function userInteractionRequired(why: string, claims: string | undefined): AadBackendAuthError {
  return new AadBackendAuthError('ERR_USER_INTERACTION_REQUIRED', `The user must sign in again: ${why}`, { claims });
}

export function userConsentRequired(why: string): AadBackendAuthError {
  return new AadBackendAuthError('ERR_USER_CONSENT_REQUIRED', `The user has not consented: ${why}`);
}

/** Discovery or the JWKS could not be read: the same 503 as an unreachable token endpoint. */
export function keysUnavailable(why: string): AadBackendAuthError {
  return new AadBackendAuthError('ERR_IDP_UNAVAILABLE', `The signing keys of the user token's issuer are unavailable: ${why}`);
}
