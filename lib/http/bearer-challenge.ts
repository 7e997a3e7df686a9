import { parseJsonObject } from '../grants/token-response.js';
import { parseWwwAuthenticate, type AuthChallenge } from './challenge.js';

/** Claims larger than this are not a real Entra challenge. */
const MAX_CLAIMS_LENGTH = 8 * 1024;

/** The `Bearer` challenge of a `WWW-Authenticate` value, if it has one. */
export function bearerChallenge(wwwAuthenticate: unknown): AuthChallenge | undefined {
  return parseWwwAuthenticate(wwwAuthenticate).find((challenge) => challenge.scheme === 'bearer');
}

/** Whether a 401 is a Bearer challenge: the backend refused the token, so a new one may help. */
export function isBearerChallenge(wwwAuthenticate: unknown): boolean {
  return bearerChallenge(wwwAuthenticate) !== undefined;
}

/**
 * The claims of an Entra claims challenge (CAE), `Bearer error="insufficient_claims", claims="<base64>"`,
 * as a compact JSON object; `undefined` when there is none or it does not decode to a JSON object.
 */
export function insufficientClaims(wwwAuthenticate: unknown): string | undefined {
  const challenge = bearerChallenge(wwwAuthenticate);
  if (challenge?.params.get('error') !== 'insufficient_claims') return undefined;
  const encoded = challenge.params.get('claims');
  if (encoded === undefined || encoded.length > MAX_CLAIMS_LENGTH || !/^[A-Za-z0-9+/_-]+={0,2}$/.test(encoded)) return undefined;
  // Entra sends standard base64; Buffer also reads the URL-safe alphabet.
  const parsed = parseJsonObject(Buffer.from(encoded, 'base64').toString('utf8'));
  return parsed === undefined ? undefined : JSON.stringify(parsed);
}
