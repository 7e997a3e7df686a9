import type { IncomingMessage } from 'node:http';
import { setMaxListeners } from 'node:events';
import { LRUCache } from 'lru-cache';
import { AadBackendAuthError } from './errors.js';
import { parseProviderOptions, type ProviderSettings } from './options/provider-options.js';
import type { ProviderToken } from './provider-token.js';
import { joinFlight } from './provider/flights.js';
import { obtainToken, type FlightSettings } from './provider/obtain-token.js';
import { ProviderEvents } from './provider/provider-events.js';
import { ProviderCounters } from './provider/provider-stats.js';
import { RequestLimiter } from './provider/request-limiter.js';
import { storeCall } from './provider/store-access.js';
import * as state from './provider/target-state.js';
import type { TargetState, Purpose } from './provider/target-state.js';
import type { TokenTarget } from './sources/token-source.js';
import type { AccessToken, TokenProvider, TokenProviderEvents, TokenProviderOptions, TokenProviderStats } from './types.js';

const closedError = (): AadBackendAuthError => new AadBackendAuthError('ERR_CLOSED', 'The token provider was closed');
const timedOut = (): AadBackendAuthError => new AadBackendAuthError('ERR_IDP_UNAVAILABLE', 'No token within timeoutMs');

/**
 * Targets, the flights this provider follows, stats and events. Refresh arithmetic lives in
 * `provider/target-state.ts`, a flight's work in `provider/obtain-token.ts`. All state is
 * `#private`, so inspecting a provider shows nothing sensitive.
 */
export class AadTokenProvider implements TokenProvider {
  readonly #settings: ProviderSettings;
  readonly #flight: FlightSettings;
  readonly #fixed: TargetState | undefined;
  readonly #targets: LRUCache<string, TargetState> | undefined;
  readonly #events: ProviderEvents;
  readonly #counters = new ProviderCounters();
  readonly #closing = new AbortController();

  constructor(settings: ProviderSettings) {
    this.#settings = settings;
    const { source, cache, logger, refreshWindowMs, timeoutMs, maxConcurrentTokenRequests } = settings;
    this.#flight = { source, cache, logger, refreshWindowMs, timeoutMs, limiter: new RequestLimiter(maxConcurrentTokenRequests) };
    this.#events = new ProviderEvents(logger);
    // One abort listener per caller waiting on a flight, by design.
    setMaxListeners(0, this.#closing.signal);
    if (typeof settings.target === 'function') this.#targets = new LRUCache({ max: settings.maxKeys });
    else this.#fixed = state.newTargetState(settings.target);
  }

  /** The state for a request's target. Throws `ERR_INVALID_TARGET` when per-request options give a bad value. */
  stateFor(req: IncomingMessage | undefined): TargetState {
    if (this.#fixed !== undefined) return this.#fixed;
    const target = (this.#settings.target as (req: IncomingMessage) => TokenTarget)(req as IncomingMessage);
    let found = this.#targets!.get(target.key);
    if (found === undefined) this.#targets!.set(target.key, (found = state.newTargetState(target)));
    return found;
  }

  /** The hot path: the usable cached token, starting a background refresh when one is due. Never waits. */
  cachedToken(target: TargetState): ProviderToken | undefined {
    const now = Date.now();
    const token = state.usableToken(target, now);
    if (token === undefined) return undefined;
    if (now >= token.refreshAfterTimestamp && state.refreshDue(target, now) && !this.#closing.signal.aborted) this.#refresh(target);
    this.#counters.cacheHits++;
    return token;
  }

  /** Waits for a token when none is usable: joins the target's flight or starts one. */
  async acquireToken(target: TargetState): Promise<ProviderToken> {
    if (this.#closing.signal.aborted) throw closedError();
    const remembered = state.rememberedFailure(target, Date.now());
    if (remembered !== undefined) throw remembered;
    this.#counters.waits++;
    return this.#follow(target, 'acquire');
  }

  async getToken(req?: IncomingMessage): Promise<AccessToken> {
    if (this.#closing.signal.aborted) throw closedError();
    const target = this.stateFor(req);
    return this.cachedToken(target) ?? this.acquireToken(target);
  }

  peek(req?: IncomingMessage): AccessToken | undefined {
    try {
      return state.usableToken(this.stateFor(req), Date.now());
    } catch {
      return undefined;
    }
  }

  invalidate(token?: string | AccessToken): void {
    const raw = typeof token === 'string' ? token : token?.token;
    // An argument without a token string (`{ ...accessToken }` loses the getter) evicts nothing, never everything.
    if (token !== undefined && typeof raw !== 'string') return;
    for (const target of this.#allTargets()) {
      if (target.token !== undefined && (raw === undefined || target.token.token === raw)) this.#evict(target);
    }
  }

  /** Evicts the token a request carried after the backend rejected it, at most once per `cooldownMs` per target. */
  evictRejected(target: TargetState, token: ProviderToken, cooldownMs: number): boolean {
    if (!state.evictIfHeld(target, token.token, Date.now(), cooldownMs)) return false;
    this.#counters.evictions++;
    this.#settings.logger.warn(`backend rejected the token for ${target.target.key}; evicting it`);
    this.#deleteStored(target);
    return true;
  }

  stats(): TokenProviderStats {
    return this.#counters.snapshot(this.#allTargets(), this.#targets?.size ?? 1);
  }

  on<E extends keyof TokenProviderEvents>(event: E, listener: (...args: TokenProviderEvents[E]) => void): this {
    this.#events.on(event, listener);
    return this;
  }

  off<E extends keyof TokenProviderEvents>(event: E, listener: (...args: TokenProviderEvents[E]) => void): this {
    this.#events.off(event, listener);
    return this;
  }

  /** Stops this provider: its waiting callers get `ERR_CLOSED`; flights other providers follow go on. */
  async close(): Promise<void> {
    this.#closing.abort();
    for (const target of this.#allTargets()) target.token = undefined;
    this.#targets?.clear();
  }

  #allTargets(): Iterable<TargetState> {
    return this.#fixed !== undefined ? [this.#fixed] : this.#targets!.values();
  }

  #evict(target: TargetState): void {
    state.evict(target);
    this.#deleteStored(target);
  }

  #deleteStored(target: TargetState): void {
    void storeCall(this.#settings.logger, () => this.#settings.cache.delete(target.target.key), 'delete');
  }

  #refresh(target: TargetState): void {
    this.#counters.refreshes++;
    this.#settings.logger.debug(`refreshing the token for ${target.target.key} ahead of expiry`);
    this.#events.emit('refresh', { key: target.target.key, expiresOnTimestamp: target.token!.expiresOnTimestamp });
    // A failure is recorded in #onFailure; the cached token is still served.
    this.#follow(target, 'refresh').catch(() => undefined);
  }

  #follow(target: TargetState, purpose: Purpose): Promise<ProviderToken> {
    if (target.pending !== undefined) return target.pending;
    const { key } = target.target;
    const request = { target: target.target, purpose, current: target.token, evictedToken: target.evictedToken, countRequest: () => void this.#counters.tokenRequests++ };
    const participation = { deadline: Date.now() + this.#settings.timeoutMs, closed: this.#closing.signal, timedOut, onClosed: closedError };
    const flight = joinFlight(this.#settings.cache, key, (signal) => obtainToken(this.#flight, request, signal), participation);
    const pending = flight.then(
      ({ token, origin }) => {
        target.pending = undefined;
        if (state.acceptToken(target, token, purpose, Date.now())) {
          this.#settings.logger.debug(`token for ${key} from ${origin}; expires in ${Math.round((token.expiresOnTimestamp - Date.now()) / 1000)} s`);
          this.#events.emit('token', { key, source: origin, expiresOnTimestamp: token.expiresOnTimestamp });
        }
        return target.token ?? token;
      },
      (error: unknown) => {
        target.pending = undefined;
        throw this.#onFailure(target, error, purpose);
      },
    );
    target.pending = pending;
    return pending;
  }

  #onFailure(target: TargetState, thrown: unknown, purpose: Purpose): AadBackendAuthError {
    const { logger, failureCooldownMs } = this.#settings;
    if (!(thrown instanceof AadBackendAuthError)) logger.error(`internal error while getting a token: ${thrown instanceof Error ? (thrown.stack ?? thrown.message) : 'a non-Error was thrown'}`);
    const error = thrown instanceof AadBackendAuthError ? thrown : new AadBackendAuthError('ERR_INTERNAL', 'An internal error occurred while getting a token');
    if (error.code === 'ERR_CLOSED') return error;
    this.#counters.failures++;
    this.#counters.lastErrorCode = error.code;
    const { key } = target.target;
    if (state.recordFailure(target, error, purpose, Date.now(), failureCooldownMs) === 'stale') {
      logger.warn(`token refresh for ${key} failed, serving the cached token until ${new Date(target.token!.useUntilTimestamp).toISOString()}: ${error.message}`);
    } else {
      logger.error(`no token for ${key} [${error.code}]: ${error.message}`);
    }
    this.#events.emit('error', error);
    return error;
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
