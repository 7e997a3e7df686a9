import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AadBackendAuthError } from './errors.js';

/** The options the package passes to {@link TokenCredential.getToken}. */
export interface CredentialGetTokenOptions {
  abortSignal?: AbortSignal;
  tenantId?: string;
  /** A claims challenge (CAE), as @azure/identity takes it. */
  claims?: string;
  enableCae?: boolean;
}

/** A token as a {@link TokenCredential} returns it. */
export interface CredentialAccessToken {
  token: string;
  expiresOnTimestamp: number;
  refreshAfterTimestamp?: number | undefined;
}

/**
 * What the package needs of a credential: `getToken`. Every `TokenCredential` of
 * `@azure/identity` fits (it is an optional peer: install it only to use its credentials).
 */
export interface TokenCredential {
  /** Gets a token for `scopes`; `null` counts as a failure. */
  getToken(scopes: string | string[], options?: CredentialGetTokenOptions): Promise<CredentialAccessToken | null>;
}

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
  /** The entry for `key`, or `undefined` (a miss). */
  get(key: string): Awaitable<StoredToken | undefined>;
  /** `ttlMs` runs to the token's `useUntilTimestamp`; the entry must not outlive it. */
  set(key: string, value: StoredToken, ttlMs: number): Awaitable<void>;
  /** Removes the entry for `key`, if any. */
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
  /** Retries and other detail. */
  debug(message: string): void;
  /** A recovery, such as Redis being back. */
  info(message: string): void;
  /** A failure the package works around, such as a refresh failing while a cached token is served. */
  warn(message: string): void;
  /** A request that got no token, or a defect (with its stack). */
  error(message: string): void;
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

/** Options of {@link TokenProvider.ready}. */
export interface ReadyOptions<Req extends IncomingMessage = IncomingMessage> {
  /**
   * Reject if no usable token is cached by then. A token request already under way carries on,
   * so a probe that gives up early still warms the cache for the next one.
   * @default the provider's `timeoutMs` (10000)
   */
  timeoutMs?: number | undefined;
  /**
   * With a per-request `tenantId`, `resource` or `scope`: a request that names the target to warm
   * (it only needs what those functions read, such as a header). Required then; ignored otherwise.
   * @default undefined
   */
  req?: Req | undefined;
}

/** What {@link TokenProvider.health} reports. Nothing in it is secret. */
export interface TokenProviderHealth {
  /**
   * `ok` until an attempt fails; `degraded`: serving a cached token while refreshes fail;
   * `failing`: no usable token and the last attempt failed, or the provider is closed.
   * With per-request targets, the worst over the targets held.
   */
  readonly status: 'ok' | 'degraded' | 'failing';
  /** How many of the targets held are in each state. */
  readonly targets: { readonly ok: number; readonly degraded: number; readonly failing: number };
  /** The `code` of the last failure, if any (`ERR_CLOSED` after `close()`). */
  readonly lastErrorCode: string | undefined;
  /** The earliest expiry among the usable tokens held (ms since the epoch), if any. */
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

/** The events of a {@link TokenProvider} and their arguments, for `on` and `off`. */
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
  /**
   * Evicts `token` (a raw token or an AccessToken) wherever this provider holds it, and from its
   * store; every token when called without an argument. An object without a `token` string evicts nothing.
   * It also drops a backend's pending claims challenge: every one without an argument, else the one
   * made to `token` (or to the target holding it).
   */
  invalidate(token?: string | AccessToken): void;
  /** Counters since the provider was created. */
  stats(): TokenProviderStats;
  /**
   * Resolves once a usable token is cached, fetching it if needed (single flight, as
   * `getToken`); rejects with the {@link AadBackendAuthError} otherwise, or with `ERR_IDP_UNAVAILABLE`
   * after `timeoutMs`. For start-up code and readiness probes: it warms the cache before traffic.
   * With per-request targets, pass `req` to name the target; without it, it rejects with `ERR_INVALID_OPTION`.
   */
  ready(options?: ReadyOptions<Req>): Promise<void>;
  /**
   * The state of the token machinery, without I/O: `ok` until an attempt fails, `degraded` while a
   * cached token is served but refreshes fail, `failing` with no usable token after a failed attempt.
   * With per-request targets it summarises every target held (the worst wins; see `targets`).
   */
  health(): TokenProviderHealth;
  /** Adds a listener for `'token'`, `'refresh'` or `'error'`. */
  on<E extends keyof TokenProviderEvents>(event: E, listener: (...args: TokenProviderEvents[E]) => void): this;
  /** Removes a listener added with `on`. */
  off<E extends keyof TokenProviderEvents>(event: E, listener: (...args: TokenProviderEvents[E]) => void): this;
  /**
   * Stops background work. This provider's waiting callers get `ERR_CLOSED`; a token request
   * that another provider also waits for goes on for that provider. Idempotent.
   */
  close(): Promise<void>;
}

/** The function `aadBackendAuth` returns: an Express-compatible middleware that also exposes its provider. */
export interface AadBackendAuthMiddleware<Req extends IncomingMessage = IncomingMessage, Res extends ServerResponse = ServerResponse> {
  (req: Req, res: Res, next: (err?: unknown) => void): void;
  readonly tokenProvider: TokenProvider<Req>;
}
