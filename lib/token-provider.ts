import type { IncomingMessage } from 'node:http';
import { setMaxListeners } from 'node:events';
import { closedError, noTokenInTime } from './errors.js';
import type { ProviderSettings } from './options/provider-options.js';
import type { ProviderToken } from './provider-token.js';
import { takeFailure, takeToken, type OutcomeContext } from './provider/flight-outcome.js';
import { joinFlight } from './provider/flights.js';
import { obtainToken, type FlightSettings } from './provider/obtain-token.js';
import { ProviderEvents } from './provider/provider-events.js';
import { ProviderCounters } from './provider/provider-stats.js';
import { RequestLimiter } from './provider/request-limiter.js';
import { storeCall } from './provider/store-access.js';
import { TargetMap } from './provider/target-map.js';
import * as state from './provider/target-state.js';
import type { Purpose, TargetState } from './provider/target-state.js';
import type { AccessToken, TokenProvider, TokenProviderEvents, TokenProviderStats } from './types.js';

/**
 * Targets, the flights this provider follows, stats and events. Refresh arithmetic lives in
 * `provider/target-state.ts`, a flight's work in `provider/obtain-token.ts`. All state is
 * `#private`, so inspecting a provider shows nothing sensitive.
 */
export class AadTokenProvider implements TokenProvider {
  readonly #settings: ProviderSettings;
  readonly #flight: FlightSettings;
  readonly #targets: TargetMap;
  readonly #events: ProviderEvents;
  readonly #counters = new ProviderCounters();
  readonly #outcomes: OutcomeContext;
  readonly #closing = new AbortController();

  constructor(settings: ProviderSettings) {
    this.#settings = settings;
    const { source, cache, logger, refreshWindowMs, timeoutMs, maxConcurrentTokenRequests } = settings;
    this.#flight = { source, cache, logger, refreshWindowMs, timeoutMs, limiter: new RequestLimiter(maxConcurrentTokenRequests) };
    this.#events = new ProviderEvents(logger);
    this.#outcomes = { logger, events: this.#events, counters: this.#counters, failureCooldownMs: settings.failureCooldownMs };
    // One abort listener per caller waiting on a flight, by design.
    setMaxListeners(0, this.#closing.signal);
    this.#targets = new TargetMap(settings.target, settings.maxKeys);
  }

  /** The state for a request's target. Throws `ERR_INVALID_TARGET` when per-request options give a bad value. */
  stateFor(req: IncomingMessage | undefined): TargetState {
    return this.#targets.for(req);
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
    for (const target of this.#targets.evict(raw)) this.#deleteStored(target);
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
    return this.#counters.snapshot(this.#targets.all(), this.#targets.size);
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
    this.#targets.clear();
  }

  #deleteStored(target: TargetState): void {
    void storeCall(this.#settings.logger, () => this.#settings.cache.delete(target.target.key), 'delete');
  }

  #refresh(target: TargetState): void {
    this.#counters.refreshes++;
    this.#settings.logger.debug(`refreshing the token for ${target.target.key} ahead of expiry`);
    this.#events.emit('refresh', { key: target.target.key, expiresOnTimestamp: target.token!.expiresOnTimestamp });
    // A failure is recorded by takeFailure; the cached token is still served.
    this.#follow(target, 'refresh').catch(() => undefined);
  }

  #follow(target: TargetState, purpose: Purpose): Promise<ProviderToken> {
    if (target.pending !== undefined) return target.pending;
    const { key } = target.target;
    const countRequest = (): void => void this.#counters.tokenRequests++;
    const request = { target: target.target, purpose, current: target.token, evictedToken: target.evictedToken, countRequest };
    const me = { deadline: Date.now() + this.#settings.timeoutMs, closed: this.#closing.signal, timedOut: noTokenInTime, onClosed: closedError };
    const flight = joinFlight(this.#settings.cache, key, (signal) => obtainToken(this.#flight, request, signal), me);
    const pending = flight.then(
      (outcome) => {
        target.pending = undefined;
        return takeToken(this.#outcomes, target, outcome, purpose);
      },
      (error: unknown) => {
        target.pending = undefined;
        throw takeFailure(this.#outcomes, target, error, purpose);
      },
    );
    target.pending = pending;
    return pending;
  }
}
