import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TokenCredential } from '@azure/identity';
import type { AadBackendAuthError } from './errors.js';

/** A value, or a promise of it: stores may answer synchronously or not. */
export type Awaitable<T> = T | Promise<T>;

/** A value fixed at start-up, or picked per request. */
export type PerRequest<T, Req extends IncomingMessage = IncomingMessage> = T | ((req: Req) => T);

/**
 * An app token as the provider hands it out. The `token` is a getter on the
 * prototype, so `JSON.stringify` and `util.inspect` of this object never show it.
 */
export interface AccessToken {
  /** The raw access token. */
  readonly token: string;
  readonly tokenType: 'Bearer';
  /** When the IdP says the token expires (ms since the epoch). */
  readonly expiresOnTimestamp: number;
  /** From this time on, the next use starts a background refresh (ms since the epoch). */
  readonly refreshAfterTimestamp: number;
  /** The token is never forwarded at or after this time: expiry minus the safety margin (ms since the epoch). */
  readonly useUntilTimestamp: number;
}

/** A token as a {@link TokenCache} stores it: plain data, safe to serialise. */
export interface StoredToken {
  readonly token: string;
  readonly expiresOnTimestamp: number;
  readonly refreshAfterTimestamp: number;
  readonly useUntilTimestamp: number;
}

/** A lock taken through {@link TokenCache.lock}. */
export interface TokenCacheLock {
  /** Releases the lock only if this holder still owns it. */
  release(): Awaitable<void>;
}

/**
 * Where tokens are shared: by every middleware of a process (the default memory
 * store), or by a whole fleet (`RedisTokenCache`). Stores stay simple; refresh
 * windows and single flight live in the provider. A store that throws or
 * rejects is treated as a miss: a store failure never fails a request.
 */
export interface TokenCache {
  get(key: string): Awaitable<StoredToken | undefined>;
  /** `ttlMs` runs to the token's `useUntilTimestamp`; the entry must not outlive it. */
  set(key: string, value: StoredToken, ttlMs: number): Awaitable<void>;
  delete(key: string): Awaitable<void>;
  /**
   * Optional fleet-wide single flight: take a lock for `key` that expires by
   * itself after `ttlMs`. Resolve `undefined` when another holder has it.
   */
  lock?(key: string, ttlMs: number): Promise<TokenCacheLock | undefined>;
  /**
   * Optional: resolve when `key` may have been written by another holder, or
   * after `timeoutMs` at the latest. Without it the provider polls.
   */
  waitForUpdate?(key: string, timeoutMs: number): Promise<void>;
}

/** Where log lines go. `console` fits, and so do pino and winston loggers. */
export interface AadBackendAuthLogger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** Called instead of the default problem+json answer when no token can be had. */
export type ErrorHandler<Req extends IncomingMessage = IncomingMessage, Res extends ServerResponse = ServerResponse> = (
  err: AadBackendAuthError,
  req: Req,
  res: Res,
  next: (err?: unknown) => void,
) => void;

/** Options of {@link createTokenProvider}: where tokens come from and how they are kept. */
export interface TokenProviderOptions<Req extends IncomingMessage = IncomingMessage> {
  /**
   * Directory (tenant) id: a GUID or a verified domain such as `contoso.onmicrosoft.com`.
   * Required for the client-secret flow unless `tokenUrl` is set. May be a function of the request.
   * `common`, `organizations` and `consumers` are refused: app tokens need a real tenant.
   * @default undefined
   */
  tenantId?: PerRequest<string, Req> | undefined;
  /**
   * The application (client) id of the BFF's app registration. Required unless `credential` is set.
   * With `credential`, set it to the credential's client id when the `cache` is shared between
   * processes (Redis): it names the identity in cache keys, so two apps never share tokens.
   * @default undefined
   */
  clientId?: string | undefined;
  /** The client secret. Required unless `credential` is set. Never logged. @default undefined */
  clientSecret?: string | undefined;
  /**
   * Any `TokenCredential` from `@azure/identity` (`DefaultAzureCredential`,
   * `ManagedIdentityCredential`, `ClientCertificateCredential`, ...), used in place of
   * `clientId` + `clientSecret`. Tokens then come from `credential.getToken(scopes)`.
   * @default undefined
   */
  credential?: TokenCredential | undefined;
  /**
   * The backend's App ID URI or resource URL, e.g. `api://orders`. Sent as scope
   * `<resource>/.default` (v2), or as `resource=` to an Entra v1 `tokenUrl`.
   * Set exactly one of `resource` and `scope`. May be a function of the request.
   * @default undefined
   */
  resource?: PerRequest<string, Req> | undefined;
  /**
   * v2 scopes, e.g. `api://orders/.default`. Set exactly one of `resource` and `scope`.
   * May be a function of the request.
   * @default undefined
   */
  scope?: PerRequest<string | readonly string[], Req> | undefined;
  /**
   * The Entra authority for sovereign clouds, e.g. `https://login.microsoftonline.us`.
   * Must be https, except on loopback hosts.
   * @default 'https://login.microsoftonline.com'
   */
  authorityHost?: string | undefined;
  /**
   * A full token endpoint, overriding `authorityHost` and `tenantId`: an Entra v1
   * endpoint (path ending `/oauth2/token`, sent `resource=`) or any RFC 6749 server.
   * Must be https, except on loopback hosts.
   * @default undefined
   */
  tokenUrl?: string | undefined;
  /**
   * Refresh in the background once expiry is this close, never before half the
   * token's lifetime. An IdP's `refresh_in` advice is honoured when earlier.
   * @default 300000 (5 minutes)
   */
  refreshWindowMs?: number | undefined;
  /**
   * The longest a caller waits for a token, retries included.
   * @default 10000
   */
  timeoutMs?: number | undefined;
  /**
   * Where tokens are shared. The default is a process-wide memory store on
   * `node-cache`, shared by every provider with the same tenant, client and scope.
   * @default the shared memory store
   */
  cache?: TokenCache | undefined;
  /**
   * After a failed acquisition with no usable token, callers get the same error
   * for this long instead of hammering a failing IdP. At most 5000.
   * @default 2000
   */
  failureCooldownMs?: number | undefined;
  /**
   * With per-request `tenantId`, `resource` or `scope`: how many distinct
   * targets are kept; the least recently used is dropped beyond it.
   * @default 1000
   */
  maxKeys?: number | undefined;
  /**
   * Where log lines go. They carry AADSTS codes and correlation ids, never secrets or tokens.
   * @default the `debug` module, namespace `aad-backend-auth` (enable with `DEBUG=aad-backend-auth`)
   */
  logger?: AadBackendAuthLogger | undefined;
  /**
   * Client capabilities announced to Entra ID with every token request, e.g. `['cp1']`, so that
   * it issues tokens for Continuous Access Evaluation (CAE). They are sent as
   * `claims={"access_token":{"xms_cc":{"values":["cp1"]}}}`, merged with the claims of a
   * backend's `insufficient_claims` challenge; a `credential` gets `enableCae: true` instead.
   * Only announce `cp1` when every caller of these tokens handles claims challenges
   * (the middleware, `createAuthFetch` and `useAadBackendAuth` do).
   * @default undefined (no capabilities)
   */
  clientCapabilities?: readonly string[] | undefined;
}

/** Options of {@link aadBackendAuth}: the provider's, plus what the middleware does with requests. */
export interface AadBackendAuthOptions<Req extends IncomingMessage = IncomingMessage, Res extends ServerResponse = ServerResponse>
  extends TokenProviderOptions<Req> {
  /**
   * The request header that carries the token. An inbound `authorization` header
   * is always removed, so a client's own credential never reaches the backend.
   * @default 'authorization'
   */
  header?: string | undefined;
  /**
   * Inbound headers to delete before forwarding, e.g. `['cookie', 'ocp-apim-subscription-key']`.
   * @default []
   */
  removeHeaders?: readonly string[] | undefined;
  /**
   * When the backend answers with one of these statuses, the token that request
   * carried is evicted, so the next request fetches a new one.
   * @default [401]
   */
  purgeOnStatus?: readonly number[] | undefined;
  /**
   * At most one eviction per target in this time, so a backend that always
   * answers 401 cannot hammer the IdP.
   * @default 30000
   */
  purgeCooldownMs?: number | undefined;
  /**
   * Replaces the default `application/problem+json` answer when no token can be had.
   * @default undefined (answer 400, 502 or 503 with problem+json)
   */
  onError?: ErrorHandler<Req, Res> | undefined;
}

/** Counters since the provider was created. */
export interface TokenProviderStats {
  /** Requests served from the in-process cache without waiting. */
  readonly cacheHits: number;
  /** Callers that had to wait for a token (nothing usable was cached). */
  readonly waits: number;
  /** HTTP requests (or credential calls) made to the IdP, retries included. */
  readonly tokenRequests: number;
  /** Background refreshes started ahead of expiry. */
  readonly refreshes: number;
  /** Acquisitions or refreshes that ended in an error. */
  readonly failures: number;
  /** Tokens evicted after a backend answered a `purgeOnStatus` status. */
  readonly evictions: number;
  /** Distinct targets (tenant, client, scope) currently held. */
  readonly keys: number;
  /** The `code` of the last failure, if any. */
  readonly lastErrorCode: string | undefined;
  /** The expiry of the newest token held (ms since the epoch), if any. */
  readonly tokenExpiresOnTimestamp: number | undefined;
}

/** Emitted with `'token'` whenever a token is obtained or adopted from the shared cache. */
export interface TokenEvent {
  /** The cache key: authority, tenant, client and scope. Holds no secret. */
  readonly key: string;
  /** `idp` when fetched, `cache` when adopted from the shared store. */
  readonly source: 'idp' | 'cache';
  readonly expiresOnTimestamp: number;
}

/** Emitted with `'refresh'` when a background refresh starts. */
export interface RefreshEvent {
  readonly key: string;
  readonly expiresOnTimestamp: number;
}

export interface TokenProviderEvents {
  token: [TokenEvent];
  refresh: [RefreshEvent];
  error: [AadBackendAuthError];
}

/** Gets, caches and refreshes app tokens; the machinery behind the middleware. */
export interface TokenProvider<Req extends IncomingMessage = IncomingMessage> {
  /**
   * A usable token: cached, or fetched with single flight when none is usable.
   * Rejects with an {@link AadBackendAuthError}. With per-request options, pass the request.
   */
  getToken(req?: Req): Promise<AccessToken>;
  /** The cached, usable token, or `undefined`. Never starts I/O. */
  peek(req?: Req): AccessToken | undefined;
  /** Evicts `token` (a raw token or an AccessToken) wherever it is held, or every token when omitted. */
  invalidate(token?: string | AccessToken): void;
  stats(): TokenProviderStats;
  on<E extends keyof TokenProviderEvents>(event: E, listener: (...args: TokenProviderEvents[E]) => void): this;
  off<E extends keyof TokenProviderEvents>(event: E, listener: (...args: TokenProviderEvents[E]) => void): this;
  /** Stops background work and aborts pending token requests. Idempotent. */
  close(): Promise<void>;
}

/** The function `aadBackendAuth` returns: an Express-compatible middleware that also exposes its provider. */
export interface AadBackendAuthMiddleware<Req extends IncomingMessage = IncomingMessage, Res extends ServerResponse = ServerResponse> {
  (req: Req, res: Res, next: (err?: unknown) => void): void;
  readonly tokenProvider: TokenProvider<Req>;
}
