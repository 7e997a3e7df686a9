import { invalidOption } from '../errors.js';

/** Options shared by `createAuthFetch` and `useAadBackendAuth`. */
export interface AuthClientOptions {
  /**
   * After a 401 with a `WWW-Authenticate: Bearer` challenge, evict the token the request
   * carried and send the request once more with a new one (only when its body can be sent again).
   * @default true
   */
  retryOnUnauthorized?: boolean | undefined;
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
