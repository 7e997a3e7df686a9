import type { AadBackendAuthError } from '../core/errors.js';
import { parseJsonObject } from '../core/json.js';
import { userConsentRequired, userInteractionRequired } from '../core/user-errors.js';
import { sanitiseClaims } from '../http/challenge.js';

/** Conditional Access and MFA: the user must sign in again (with the claims, when given). */
const INTERACTION_CODES = new Set(['AADSTS50076', 'AADSTS50079', 'AADSTS50158']);
const CONSENT_CODES = new Set(['AADSTS65001']);

/** Reads an `invalid_grant` that is the grant's own business; `label` names the error and its AADSTS code. */
export type InvalidGrant = (label: string, codes: readonly string[]) => AadBackendAuthError | undefined;

/**
 * The OAuth errors of a 4xx answer to a delegated grant (on-behalf-of, token exchange, refresh) that
 * are the user's to resolve, read before the generic mapping: consent, interaction (Conditional
 * Access, MFA, with the claims), and an `invalid_grant` as `invalidGrant` reads it. `body` is already scrubbed.
 */
export function userErrorOfAnswer(status: number, body: string, invalidGrant: InvalidGrant): AadBackendAuthError | undefined {
  if (status < 400 || status >= 500) return undefined;
  const answer = parseJsonObject(body);
  if (answer === undefined) return undefined;
  const error = typeof answer.error === 'string' ? answer.error.slice(0, 100) : '';
  const suberror = typeof answer.suberror === 'string' ? answer.suberror : '';
  const codes = Array.isArray(answer.error_codes) ? answer.error_codes.filter((c): c is number => typeof c === 'number').map((c) => `AADSTS${c}`) : [];
  const described = typeof answer.error_description === 'string' ? answer.error_description.match(/AADSTS\d+/)?.[0] : undefined;
  if (described !== undefined) codes.push(described);
  const label = codes[0] === undefined ? error : `${error}, ${codes[0]}`;
  if (error === 'consent_required' || suberror === 'consent_required' || codes.some((c) => CONSENT_CODES.has(c))) {
    return userConsentRequired(`the IdP answered ${label}`);
  }
  const claims = sanitiseClaims(answer.claims);
  const interaction = error === 'interaction_required' || codes.some((c) => INTERACTION_CODES.has(c)) || claims !== undefined;
  if (interaction && (error === 'invalid_grant' || error === 'interaction_required')) {
    return userInteractionRequired(`the IdP answered ${label}`, claims);
  }
  return error === 'invalid_grant' ? invalidGrant(label, codes) : undefined;
}
