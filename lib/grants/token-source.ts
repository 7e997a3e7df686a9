import type { TokenRequestClaims } from './token-request-claims.js';

/** How a source gets its tokens; the `aad_backend_auth.grant` attribute. */
export type TokenGrant = 'client_credentials' | 'on_behalf_of' | 'token_exchange' | 'credential' | 'refresh_token';

/**
 * What a token is asked for: one identity, one tenant and one set of scopes (or an Entra v1 resource).
 *
 * The key is the one name of a target, in the in-process state, in flights and in every store:
 * `<source id>|<tenant>|<scopes, sorted and space-separated, or resource=<resource>>`, where the
 * source id names the identity: `<authority>|<clientId>` for a secret, `credential|<clientId>` for a
 * credential with a shared store, `credential#<n>:<class>` for one credential object in this process.
 * It never holds a secret or a token.
 */
export interface TokenTarget {
  readonly key: string;
  readonly tenantId: string | undefined;
  readonly scopes: readonly string[];
  /** Set for Entra v1 endpoints, which take `resource=` instead of `scope=`. */
  readonly resource: string | undefined;
  /** On-behalf-of only: the user's token to exchange. Never part of a key, a log line or an error. */
  readonly assertion?: string | undefined;
  /** On-behalf-of only: the user token's `exp` (ms since the epoch); an exchanged token is never used past it. */
  readonly notAfter?: number | undefined;
}

/** A token as a source returns it; times are relative to when it arrived, so clocks need not agree. */
export interface FetchedToken {
  readonly token: string;
  readonly expiresInMs: number;
  /** The IdP's advice to refresh after this long (`refresh_in`, `refreshAfterTimestamp`), if any. */
  readonly refreshInMs: number | undefined;
}

/**
 * One attempt at a token. Rejects only with an `AadBackendAuthError` whose
 * `transient` flag says whether retrying may help. The provider bounds every
 * attempt by its deadline whether or not the source honours `signal`.
 */
export interface TokenSource {
  /** Names the identity in cache keys (see {@link TokenTarget}). */
  readonly id: string;
  /** The grant, for telemetry's `aad_backend_auth.grant`. @default 'client_credentials' */
  readonly grant?: TokenGrant;
  /** The token endpoint's host, for the span's `server.address`; unknown for a credential. */
  readonly serverAddress?: string;
  /** `claims`, when set, must be sent with the request: capabilities (CAE) and a backend's claims challenge. */
  fetchToken(target: TokenTarget, signal: AbortSignal, claims?: TokenRequestClaims): Promise<FetchedToken>;
}

/** Builds a target's key; the one place that decides what a key names. */
export function targetKey(sourceId: string, tenantId: string | undefined, scopes: readonly string[], resource: string | undefined): string {
  const what = resource !== undefined ? `resource=${resource}` : [...scopes].sort().join(' ');
  return `${sourceId}|${tenantId ?? ''}|${what}`;
}
