import { EventEmitter, setMaxListeners } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { LRUCache } from 'lru-cache';
import { AadBackendAuthError, toAadBackendAuthError } from './errors.js';
import { parseProviderOptions, type ProviderSettings } from './options.js';
import { ProviderToken } from './provider-token.js';
import type { TokenTarget } from './sources/token-source.js';
import { backoffMs, deadlineSignal, sleep, withTimeout } from './timing.js';
import type { AccessToken, TokenProvider, TokenProviderEvents, TokenProviderOptions, TokenProviderStats } from './types.js';

/** Failed acquisitions are remembered at most this long: the gateway always tries again within 5 s. */
const MAX_FAILURE_MEMORY_MS = 5000;
const RETRY_BASE_MS = 200;
const RETRY_CAP_MS = 2000;
const REFRESH_BACKOFF_BASE_MS = 1000;
const REFRESH_BACKOFF_CAP_MS = 30_000;
/** Failed refreshes are never tried closer together than this, even near expiry. */
const REFRESH_MIN_SPACING_MS = 1000;
/** A shared store gets this long per call before it counts as a miss. */
const STORE_TIMEOUT_MS = 1000;
const LOCK_POLL_MS = 50;

type Purpose = 'acquire' | 'refresh';
interface Obtained {
  readonly token: ProviderToken;
  readonly origin: 'idp' | 'cache';
}

/** One target's state: its token, the flight this provider follows, and what went wrong last. */
export interface Slot {
  readonly target: TokenTarget;
  entry: ProviderToken | undefined;
  flight: Promise<ProviderToken> | undefined;
  failure: { readonly error: AadBackendAuthError; readonly until: number } | undefined;
  refreshNotBefore: number;
  refreshFailures: number;
  /** The last token evicted, never to be adopted again from a shared store. */
  revoked: string | undefined;
  lastPurgeAt: number;
}

function newSlot(target: TokenTarget): Slot {
  return { target, entry: undefined, flight: undefined, failure: undefined, refreshNotBefore: 0, refreshFailures: 0, revoked: undefined, lastPurgeAt: -Infinity };
}

/**
 * Flights in progress, by target key, for the whole process: two providers
 * (two routes) with the same tenant, client and scope share one token request.
 */
const flights = new Map<string, Promise<Obtained>>();

function closedError(): AadBackendAuthError {
  return new AadBackendAuthError('ERR_CLOSED', 'The token provider was closed', { status: 503 });
}

/**
 * Cache, single flight, refresh-ahead, retries and stale-while-failing. All
 * state is `#private`, so inspecting a provider shows nothing sensitive.
 */
export class AadTokenProvider implements TokenProvider {
  readonly #settings: ProviderSettings;
  readonly #staticSlot: Slot | undefined;
  readonly #slots: LRUCache<string, Slot> | undefined;
  readonly #events = new EventEmitter();
  readonly #closing = new AbortController();
  #cacheHits = 0;
  #waits = 0;
  #tokenRequests = 0;
  #refreshes = 0;
  #failures = 0;
  #evictions = 0;
  #lastErrorCode: string | undefined;

  constructor(settings: ProviderSettings) {
    this.#settings = settings;
    // One abort listener per token request in flight (one per target), by design.
    setMaxListeners(0, this.#closing.signal);
    if (typeof settings.target === 'function') this.#slots = new LRUCache({ max: settings.maxKeys });
    else this.#staticSlot = newSlot(settings.target);
  }

  /** The slot for a request. Throws `ERR_INVALID_TARGET` when per-request options give a bad value. */
  slotFor(req: IncomingMessage | undefined): Slot {
    if (this.#staticSlot !== undefined) return this.#staticSlot;
    return this.slotForTarget((this.#settings.target as (req: IncomingMessage) => TokenTarget)(req as IncomingMessage));
  }

  /** The slot for a target picked by the caller (per-request options, a user token); LRU-bounded by `maxKeys`. */
  slotForTarget(target: TokenTarget): Slot {
    if (this.#staticSlot !== undefined) return this.#staticSlot;
    let slot = this.#slots!.get(target.key);
    if (slot === undefined) {
      slot = newSlot(target);
      this.#slots!.set(target.key, slot);
    }
    return slot;
  }

  /** The hot path: the usable cached token, starting a background refresh when one is due. Never waits. */
  cachedToken(slot: Slot): ProviderToken | undefined {
    const entry = slot.entry;
    if (entry === undefined) return undefined;
    const now = Date.now();
    if (now >= entry.useUntilTimestamp) return undefined;
    if (now >= entry.refreshAfterTimestamp) this.#maybeRefresh(slot, now);
    this.#cacheHits++;
    return entry;
  }

  /** Waits for a token when none is usable: joins the flight in progress or starts one. */
  async acquireToken(slot: Slot): Promise<ProviderToken> {
    if (this.#closing.signal.aborted) throw closedError();
    const failure = slot.failure;
    if (failure !== undefined && Date.now() < failure.until) throw failure.error;
    this.#waits++;
    return this.#follow(slot, 'acquire');
  }

  async getToken(req?: IncomingMessage): Promise<AccessToken> {
    if (this.#closing.signal.aborted) throw closedError();
    const slot = this.slotFor(req);
    return this.cachedToken(slot) ?? this.acquireToken(slot);
  }

  peek(req?: IncomingMessage): AccessToken | undefined {
    let slot: Slot;
    try {
      slot = this.slotFor(req);
    } catch {
      return undefined;
    }
    const entry = slot.entry;
    return entry !== undefined && Date.now() < entry.useUntilTimestamp ? entry : undefined;
  }

  invalidate(token?: string | AccessToken): void {
    const raw = typeof token === 'string' ? token : token?.token;
    for (const slot of this.#allSlots()) {
      if (slot.entry !== undefined && (raw === undefined || slot.entry.token === raw)) this.#evict(slot);
    }
  }

  /**
   * Evicts the token a request carried after the backend rejected it, at most
   * once per `cooldownMs` per target. Returns whether it evicted.
   */
  purge(slot: Slot, token: ProviderToken, cooldownMs: number): boolean {
    const now = Date.now();
    if (slot.entry !== token || now - slot.lastPurgeAt < cooldownMs) return false;
    slot.lastPurgeAt = now;
    this.#evictions++;
    this.#settings.logger.warn(`backend rejected the token for ${slot.target.key}; evicting it`);
    this.#evict(slot);
    return true;
  }

  stats(): TokenProviderStats {
    let expiresOn: number | undefined;
    for (const slot of this.#allSlots()) {
      const entry = slot.entry;
      if (entry !== undefined && (expiresOn === undefined || entry.expiresOnTimestamp > expiresOn)) expiresOn = entry.expiresOnTimestamp;
    }
    return {
      cacheHits: this.#cacheHits,
      waits: this.#waits,
      tokenRequests: this.#tokenRequests,
      refreshes: this.#refreshes,
      failures: this.#failures,
      evictions: this.#evictions,
      keys: this.#slots?.size ?? 1,
      lastErrorCode: this.#lastErrorCode,
      tokenExpiresOnTimestamp: expiresOn,
    };
  }

  on<E extends keyof TokenProviderEvents>(event: E, listener: (...args: TokenProviderEvents[E]) => void): this {
    this.#events.on(event, listener as (...args: unknown[]) => void);
    return this;
  }

  off<E extends keyof TokenProviderEvents>(event: E, listener: (...args: TokenProviderEvents[E]) => void): this {
    this.#events.off(event, listener as (...args: unknown[]) => void);
    return this;
  }

  async close(): Promise<void> {
    this.#closing.abort();
    for (const slot of this.#allSlots()) slot.entry = undefined;
    this.#slots?.clear();
  }

  #allSlots(): Iterable<Slot> {
    return this.#staticSlot !== undefined ? [this.#staticSlot] : this.#slots!.values();
  }

  #evict(slot: Slot): void {
    slot.revoked = slot.entry?.token;
    slot.entry = undefined;
    void this.#storeCall(() => this.#settings.cache.delete(slot.target.key), 'delete');
  }

  #maybeRefresh(slot: Slot, now: number): void {
    if (slot.flight !== undefined || now < slot.refreshNotBefore || this.#closing.signal.aborted) return;
    this.#refreshes++;
    this.#settings.logger.debug(`refreshing the token for ${slot.target.key} ahead of expiry`);
    this.#emit('refresh', { key: slot.target.key, expiresOnTimestamp: slot.entry!.expiresOnTimestamp });
    this.#follow(slot, 'refresh').catch(() => {
      // Recorded in #onFailure; the cached token is still served.
    });
  }

  /** Follows the process-wide flight for the slot's key, starting it if there is none. */
  #follow(slot: Slot, purpose: Purpose): Promise<ProviderToken> {
    if (slot.flight !== undefined) return slot.flight;
    const key = slot.target.key;
    let shared = flights.get(key);
    if (shared === undefined) {
      const started: Promise<Obtained> = this.#obtain(slot, purpose).finally(() => {
        if (flights.get(key) === started) flights.delete(key);
      });
      flights.set(key, started);
      shared = started;
    }
    const followed = shared.then(
      (obtained) => {
        slot.flight = undefined;
        this.#onToken(slot, obtained, purpose);
        return obtained.token;
      },
      (error: unknown) => {
        slot.flight = undefined;
        const failure = toAadBackendAuthError(error);
        this.#onFailure(slot, failure, purpose);
        throw failure;
      },
    );
    slot.flight = followed;
    return followed;
  }

  #onToken(slot: Slot, { token, origin }: Obtained, purpose: Purpose): void {
    const previous = slot.entry;
    slot.failure = undefined;
    if (previous !== undefined && token.expiresOnTimestamp <= previous.expiresOnTimestamp) {
      // A refresh that brought nothing newer (a credential's own cache, say) backs off like a failure.
      if (purpose === 'refresh') this.#backOffRefresh(slot, undefined);
      return;
    }
    slot.entry = token;
    slot.refreshFailures = 0;
    slot.refreshNotBefore = 0;
    const inSeconds = Math.round((token.expiresOnTimestamp - Date.now()) / 1000);
    this.#settings.logger.debug(`token for ${slot.target.key} from ${origin}; expires in ${inSeconds} s`);
    this.#emit('token', { key: slot.target.key, source: origin, expiresOnTimestamp: token.expiresOnTimestamp });
  }

  #onFailure(slot: Slot, error: AadBackendAuthError, purpose: Purpose): void {
    if (error.code === 'ERR_CLOSED' && !this.#closing.signal.aborted) return; // another provider closed its flight
    this.#failures++;
    this.#lastErrorCode = error.code;
    const now = Date.now();
    const usable = slot.entry !== undefined && now < slot.entry.useUntilTimestamp;
    if (purpose === 'refresh' || usable) this.#backOffRefresh(slot, error.retryAfterSeconds);
    if (usable) {
      const until = new Date(slot.entry!.useUntilTimestamp).toISOString();
      this.#settings.logger.warn(`token refresh for ${slot.target.key} failed, serving the cached token until ${until}: ${error.message}`);
    } else {
      const retryMs = error.retryAfterSeconds === undefined ? 0 : error.retryAfterSeconds * 1000;
      const memoryMs = Math.min(MAX_FAILURE_MEMORY_MS, Math.max(this.#settings.failureCooldownMs, retryMs));
      slot.failure = { error, until: now + memoryMs };
      this.#settings.logger.error(`no token for ${slot.target.key} [${error.code}]: ${error.message}`);
    }
    this.#emit('error', error);
  }

  #backOffRefresh(slot: Slot, retryAfterSeconds: number | undefined): void {
    const backoff = backoffMs(slot.refreshFailures++, REFRESH_BACKOFF_BASE_MS, REFRESH_BACKOFF_CAP_MS);
    const now = Date.now();
    // Try again before the token stops being usable, whatever the back-off says, but halving the time
    // left must not turn into a burst of refreshes in the token's last moments.
    const latest = slot.entry === undefined ? Infinity : Math.max(REFRESH_MIN_SPACING_MS, (slot.entry.useUntilTimestamp - now) / 2);
    const waitMs = Math.min(Math.max(backoff, (retryAfterSeconds ?? 0) * 1000), latest);
    slot.refreshNotBefore = now + waitMs;
  }

  /** One flight: adopt a fresher token from the shared store, or fetch one (under the fleet lock when the store has one). */
  async #obtain(slot: Slot, purpose: Purpose): Promise<Obtained> {
    const deadline = Date.now() + this.#settings.timeoutMs;
    const stored = await this.#readUsable(slot, purpose, deadline);
    if (stored !== undefined) return { token: stored, origin: 'cache' };
    const cache = this.#settings.cache;
    if (cache.lock === undefined) return this.#fetchAndStore(slot, deadline, false);
    const lockTtlMs = Math.max(1000, Math.ceil(this.#settings.timeoutMs / 2));
    for (;;) {
      let lock: Awaited<ReturnType<NonNullable<typeof cache.lock>>>;
      try {
        lock = await withTimeout(cache.lock(slot.target.key, lockTtlMs), Math.min(STORE_TIMEOUT_MS, Math.max(1, deadline - Date.now())));
      } catch {
        // The store is failing: this process fetches on its own.
        return this.#fetchAndStore(slot, deadline, false);
      }
      if (lock !== undefined) {
        try {
          const adopted = await this.#readUsable(slot, purpose, deadline);
          if (adopted !== undefined) return { token: adopted, origin: 'cache' };
          return await this.#fetchAndStore(slot, deadline, true);
        } finally {
          void this.#storeCall(() => lock.release(), 'lock release');
        }
      }
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        throw new AadBackendAuthError('ERR_IDP_UNAVAILABLE', 'Another instance holds the token lock and no token appeared in time', {
          status: 503,
          transient: true,
        });
      }
      const waitMs = Math.min(remaining, cache.waitForUpdate === undefined ? LOCK_POLL_MS : 250);
      if (cache.waitForUpdate === undefined) await sleep(waitMs, this.#closing.signal);
      else await this.#storeCall(() => cache.waitForUpdate!(slot.target.key, waitMs), 'wait');
      if (this.#closing.signal.aborted) throw closedError();
      const appeared = await this.#readUsable(slot, purpose, deadline);
      if (appeared !== undefined) return { token: appeared, origin: 'cache' };
    }
  }

  /** A token from the shared store that this flight may use: usable, not revoked, and for a refresh, fresher. */
  async #readUsable(slot: Slot, purpose: Purpose, deadline: number): Promise<ProviderToken | undefined> {
    const key = slot.target.key;
    const timeoutMs = Math.min(STORE_TIMEOUT_MS, Math.max(1, deadline - Date.now()));
    const stored = ProviderToken.fromStored(await this.#storeCall(() => this.#settings.cache.get(key), 'get', timeoutMs));
    if (stored === undefined || stored.token === slot.revoked) return undefined;
    const now = Date.now();
    if (now >= stored.useUntilTimestamp) return undefined;
    const current = slot.entry;
    if (purpose === 'refresh' && (now >= stored.refreshAfterTimestamp || (current !== undefined && stored.expiresOnTimestamp <= current.expiresOnTimestamp))) {
      return undefined;
    }
    return stored;
  }

  async #fetchAndStore(slot: Slot, deadline: number, awaitStore: boolean): Promise<Obtained> {
    const token = await this.#fetchWithRetries(slot.target, deadline);
    const ttlMs = token.useUntilTimestamp - Date.now();
    const write = this.#storeCall(() => this.#settings.cache.set(slot.target.key, token.toStored(), ttlMs), 'set');
    // Under the fleet lock the others wait for this write; otherwise nobody should.
    if (awaitStore) await write;
    return { token, origin: 'idp' };
  }

  async #fetchWithRetries(target: TokenTarget, deadline: number): Promise<ProviderToken> {
    const { source, refreshWindowMs, logger } = this.#settings;
    for (let attempt = 0; ; attempt++) {
      const requestedAt = Date.now();
      const timeout = deadlineSignal(Math.max(1, deadline - requestedAt), this.#closing.signal);
      this.#tokenRequests++;
      let error: AadBackendAuthError;
      try {
        return ProviderToken.fromFetched(await source.fetchToken(target, timeout.signal), requestedAt, refreshWindowMs, target.notAfter);
      } catch (thrown) {
        error = toAadBackendAuthError(thrown);
      } finally {
        timeout.clear();
      }
      if (this.#closing.signal.aborted) throw closedError();
      if (!error.transient) throw error;
      // Retry-After is a floor, never a licence to skip the back-off: "Retry-After: 0" must not mean a tight loop.
      const waitMs = Math.max(backoffMs(attempt, RETRY_BASE_MS, RETRY_CAP_MS), (error.retryAfterSeconds ?? 0) * 1000);
      if (Date.now() + waitMs >= deadline) throw error;
      logger.debug(`token request for ${target.key} failed [${error.code}], retrying in ${Math.round(waitMs)} ms: ${error.message}`);
      await sleep(waitMs, this.#closing.signal);
    }
  }

  /** Calls the store; a failure or a timeout is a miss, logged at debug level, never an error. */
  async #storeCall<T>(call: () => T | Promise<T>, what: string, timeoutMs = STORE_TIMEOUT_MS): Promise<T | undefined> {
    try {
      return await withTimeout(call(), timeoutMs);
    } catch (error) {
      const reason = error instanceof Error ? error.message.slice(0, 200) : 'unknown error';
      this.#settings.logger.debug(`token cache ${what} failed, carrying on without it: ${reason}`);
      return undefined;
    }
  }

  #emit<E extends keyof TokenProviderEvents>(event: E, ...args: TokenProviderEvents[E]): void {
    if (this.#events.listenerCount(event) === 0) return;
    try {
      this.#events.emit(event, ...args);
    } catch (error) {
      this.#settings.logger.error(`a '${event}' listener threw: ${error instanceof Error ? error.message : 'unknown error'}`);
    }
  }
}

/**
 * The token machinery without Express, for code that calls backends itself.
 * @example
 * const provider = createTokenProvider({ tenantId, clientId, clientSecret, resource: 'api://orders' });
 * const { token } = await provider.getToken();
 */
export function createTokenProvider<Req extends IncomingMessage = IncomingMessage>(options: TokenProviderOptions<Req>): TokenProvider<Req> {
  return new AadTokenProvider(parseProviderOptions(options)) as TokenProvider<Req>;
}
