/** What a token is asked for: one tenant and one set of scopes (or an Entra v1 resource). */
export interface TokenTarget {
  /** Cache and single-flight key: authority, tenant, client and scope. Holds no secret. */
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
 * `transient` flag says whether retrying may help.
 */
export interface TokenSource {
  /** Identifies the authority and client in cache keys, e.g. `https://login.microsoftonline.com|<clientId>`. */
  readonly id: string;
  fetchToken(target: TokenTarget, signal: AbortSignal): Promise<FetchedToken>;
}
