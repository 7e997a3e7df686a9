import { AadBackendAuthError, invalidOption } from '../../core/errors.js';
import { isLoopbackHost } from '../../core/option-checks.js';

/**
 * Where a client may send its token: `https:` anywhere, `http:` on loopback only, and, when
 * `origins` is set, those origins alone. Built once at start-up; checked before any token is fetched.
 */
export interface UrlPolicy {
  /** The exact origins allowed (`URL.origin` form), or `undefined` for any https origin. */
  readonly origins: ReadonlySet<string> | undefined;
}

/** Whether a parsed URL's scheme may carry a token at all. */
function secureScheme(url: URL): boolean {
  return url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackHost(url.hostname));
}

/**
 * `allowedOrigins` as a set of `URL.origin` strings (so `https://a.example:443` equals
 * `https://a.example`). Each entry must be a bare origin that the scheme rule allows.
 */
export function parseAllowedOrigins(value: unknown, owner: string): ReadonlySet<string> | undefined {
  if (value === undefined) return undefined;
  const fail = (problem: string): AadBackendAuthError => invalidOption('allowedOrigins', problem, owner);
  if (!Array.isArray(value) || value.length === 0) throw fail('must be a non-empty array of origins such as "https://api.example.com"');
  const origins = new Set<string>();
  for (const entry of value) {
    if (typeof entry !== 'string') throw fail('must list origins as strings');
    let url: URL;
    try {
      url = new URL(entry);
    } catch {
      throw fail(`has an entry that is not an absolute URL: ${JSON.stringify(entry.slice(0, 100))}`);
    }
    // An origin alone: scheme, host and port; at most the one trailing slash `new URL` adds anyway.
    const bare = url.username === '' && url.password === '' && url.pathname === '/' && url.search === '' && url.hash === '' && !/[?#]/.test(entry);
    if (!bare || !/^[a-z][a-z0-9+.-]*:\/\/[^/]+\/?$/i.test(entry)) throw fail(`has an entry that is not a bare origin (scheme, host, port; no path, query or credentials): ${url.origin}`);
    if (!secureScheme(url)) throw fail(`has an entry the token may never go to (https only; http on loopback): ${url.origin}`);
    origins.add(url.origin);
  }
  return origins;
}

/** The origin of a URL, for messages: never its path, query or credentials, which may be secret. */
const shown = (url: URL): string => (url.origin === 'null' ? `a ${url.protocol} URL` : url.origin);

export function urlNotAllowed(why: string): AadBackendAuthError {
  return new AadBackendAuthError('ERR_URL_NOT_ALLOWED', `Refused to send the backend token: ${why}`);
}

/**
 * The URL a token is about to be sent to, parsed, or `ERR_URL_NOT_ALLOWED` when the policy
 * refuses it: not absolute, not https (loopback http aside), or not one of the allowed origins.
 */
export function checkUrl(policy: UrlPolicy, target: string | URL): URL {
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    throw urlNotAllowed('the URL is not absolute');
  }
  if (!secureScheme(url)) throw urlNotAllowed(`${shown(url)} is not https (only loopback hosts may use http)`);
  if (policy.origins !== undefined && !policy.origins.has(url.origin)) throw urlNotAllowed(`${shown(url)} is not in allowedOrigins`);
  return url;
}

/** A redirect may keep the token only within the origin the request was allowed for. */
export function checkRedirect(from: URL, location: URL): void {
  if (location.origin === from.origin && location.origin !== 'null') return;
  throw urlNotAllowed(`a redirect from ${shown(from)} to another origin (${shown(location)}) is not followed`);
}
