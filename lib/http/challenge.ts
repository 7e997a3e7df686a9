import type { AadBackendAuthError } from '../core/errors.js';
import { parseJsonObject } from '../core/json.js';

/** One challenge of a `WWW-Authenticate` header (RFC 9110 §11.6.1). */
export interface AuthChallenge {
  /** Lower-case scheme, e.g. `bearer`. */
  readonly scheme: string;
  /** Parameters by lower-case name; quoted values unquoted. The first of a repeated name wins. */
  readonly params: ReadonlyMap<string, string>;
  /** The token68 form (`Negotiate abc==`), when the challenge uses it instead of parameters. */
  readonly token68: string | undefined;
}

/** A backend that sends more than this is not sending challenges we act on. */
const MAX_HEADER_LENGTH = 16 * 1024;
const TOKEN = /[!#$%&'*+.^_`|~0-9A-Za-z-]+/y;
const TOKEN68 = /[A-Za-z0-9\-._~+/]+=*/y;

/** A header value as Node, fetch and axios give it: a string, a list of them, or nothing. */
export function headerText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (Array.isArray(value) && value.every((part) => typeof part === 'string')) return value.join(', ');
  return undefined;
}

/**
 * Parses a `WWW-Authenticate` value into its challenges. Commas separate both challenges and
 * parameters, so a name not followed by `=` starts the next challenge. Stops at the first
 * malformed part and returns the challenges read so far.
 */
export function parseWwwAuthenticate(value: unknown): AuthChallenge[] {
  const text = headerText(value);
  const challenges: AuthChallenge[] = [];
  if (text === undefined || text.length > MAX_HEADER_LENGTH) return challenges;
  let i = 0;
  const skipSpace = (): void => {
    while (text[i] === ' ' || text[i] === '\t') i++;
  };
  const match = (pattern: RegExp): string | undefined => {
    pattern.lastIndex = i;
    const found = pattern.exec(text);
    if (found === null) return undefined;
    i = pattern.lastIndex;
    return found[0];
  };
  const quoted = (): string | undefined => {
    let out = '';
    for (i++; i < text.length; i++) {
      const c = text[i]!;
      if (c === '"') {
        i++;
        return out;
      }
      if (c === '\\') i++;
      out += text[i] ?? '';
    }
    return undefined; // unterminated
  };

  for (;;) {
    while (text[i] === ',' || text[i] === ' ' || text[i] === '\t') i++;
    if (i >= text.length) return challenges;
    const scheme = match(TOKEN);
    if (scheme === undefined) return challenges;
    const params = new Map<string, string>();
    let token68: string | undefined;
    skipSpace();
    const start = i;
    const candidate = match(TOKEN68);
    skipSpace();
    if (candidate !== undefined && (i >= text.length || text[i] === ',')) {
      token68 = candidate;
    } else {
      i = start;
      for (;;) {
        const before = i;
        const name = match(TOKEN);
        if (name === undefined) break;
        skipSpace();
        if (text[i] !== '=') {
          i = before; // the next challenge's scheme
          break;
        }
        i++;
        skipSpace();
        const paramValue = text[i] === '"' ? quoted() : match(TOKEN);
        if (paramValue === undefined) {
          challenges.push({ scheme: scheme.toLowerCase(), params, token68 });
          return challenges;
        }
        const key = name.toLowerCase();
        if (!params.has(key)) params.set(key, paramValue);
        skipSpace();
        if (text[i] !== ',') break;
        i++;
        skipSpace();
      }
    }
    challenges.push({ scheme: scheme.toLowerCase(), params, token68 });
  }
}

/** The `Bearer` challenge of a `WWW-Authenticate` value, if it has one. */
export function bearerChallenge(wwwAuthenticate: unknown): AuthChallenge | undefined {
  return parseWwwAuthenticate(wwwAuthenticate).find((challenge) => challenge.scheme === 'bearer');
}

/** Whether a 401 is a Bearer challenge: the backend refused the token, so a new one may help. */
export function isBearerChallenge(wwwAuthenticate: unknown): boolean {
  return bearerChallenge(wwwAuthenticate) !== undefined;
}

/** Claims longer than this (as JSON) are not an honest challenge: no real one comes near it, and they go in a header or a form. */
const MAX_CLAIMS_LENGTH = 4096;
/** The base64 length of the longest claims accepted. */
const MAX_ENCODED_CLAIMS_LENGTH = Math.ceil(MAX_CLAIMS_LENGTH / 3) * 4;

/** Claims (from an IdP's answer or a backend's challenge), kept only when they are a JSON object of bounded size, as compact JSON. */
export function sanitiseClaims(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_CLAIMS_LENGTH) return undefined;
  const parsed = parseJsonObject(value);
  return parsed === undefined ? undefined : JSON.stringify(parsed);
}

/**
 * The claims of an Entra claims challenge (CAE), `Bearer error="insufficient_claims", claims="<base64>"`,
 * as a compact JSON object; `undefined` when there is none or it does not decode to a JSON object.
 */
export function insufficientClaims(wwwAuthenticate: unknown): string | undefined {
  const challenge = bearerChallenge(wwwAuthenticate);
  if (challenge?.params.get('error') !== 'insufficient_claims') return undefined;
  const encoded = challenge.params.get('claims');
  if (encoded === undefined || encoded.length > MAX_ENCODED_CLAIMS_LENGTH || !/^[A-Za-z0-9+/_-]+={0,2}$/.test(encoded)) return undefined;
  // Entra sends standard base64; Buffer also reads the URL-safe alphabet.
  return sanitiseClaims(Buffer.from(encoded, 'base64').toString('utf8'));
}

/**
 * The `WWW-Authenticate` challenge (RFC 6750 §3) the gateway answers a user-token error with, or
 * `undefined` for every other error. `claims` is base64 JSON, as MSAL.js expects for a step-up.
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
