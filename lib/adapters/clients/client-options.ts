import { invalidOption } from '../../core/errors.js';

/** Options shared by `createAuthFetch` and `useAadBackendAuth`. */
export interface AuthClientOptions {
  /**
   * After a 401 with a `WWW-Authenticate: Bearer` challenge, evict the token the request
   * carried and send the request once more with a new one (only when its body can be sent again).
   * @default true
   */
  retryOnUnauthorized?: boolean | undefined;
  /**
   * The only origins (scheme, host and port, e.g. `https://orders.internal` or
   * `http://127.0.0.1:8080`) the token may be sent to; any other URL rejects with
   * `ERR_URL_NOT_ALLOWED` before a token is fetched. The default port counts:
   * `https://api.example.com` equals `https://api.example.com:443`. Entries must be bare
   * origins (no path, query or credentials), https or loopback http, else `ERR_INVALID_OPTION`.
   * Whatever this says, a URL that is not `https:` (loopback `http:` aside) is refused.
   * @default `createAuthFetch`: any https origin (and loopback http). `useAadBackendAuth`: the origin
   * of the instance's `baseURL` when it has one (read when the interceptor is installed), else any
   * https origin; `allowedOrigins` replaces that default.
   */
  allowedOrigins?: readonly string[] | undefined;
}

export function parseRetryOnUnauthorized(value: unknown): boolean {
  if (value === undefined) return true;
  if (typeof value !== 'boolean') throw invalidOption('retryOnUnauthorized', 'must be true or false');
  return value;
}

/** Refuses options the client does not know, naming them. */
export function checkClientOptions(options: unknown, known: readonly string[]): Record<string, unknown> {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) throw invalidOption('options', 'must be an object');
  for (const [key, value] of Object.entries(options)) {
    if (value !== undefined && !known.includes(key)) throw invalidOption(key, `is not an option here (known: ${known.join(', ')})`);
  }
  return options as Record<string, unknown>;
}
