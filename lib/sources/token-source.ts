import type { TokenRequestClaims } from '../token-request-claims.js';

/** What a token is asked for: one tenant and one set of scopes (or an Entra v1 resource). */
export interface TokenTarget {
  /** Cache and single-flight key: authority, tenant, client and scope. Holds no secret. */
  readonly key: string;
  readonly tenantId: string | undefined;
  readonly scopes: readonly string[];
  /** Set for Entra v1 endpoints, which take `resource=` instead of `scope=`. */
  readonly resource: string | undefined;
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
 * `transient` flag says whether retrying may help.
 */
export interface TokenSource {
  /** Identifies the authority and client in cache keys, e.g. `https://login.microsoftonline.com|<clientId>`. */
  readonly id: string;
  /** `claims`, when set, must be sent with the request: capabilities (CAE) and a backend's claims challenge. */
  fetchToken(target: TokenTarget, signal: AbortSignal, claims?: TokenRequestClaims): Promise<FetchedToken>;
}
