import type { IncomingMessage } from 'node:http';
import { setMaxListeners } from 'node:events';
import { closedError } from '../core/errors.js';
import type { ProviderSettings } from './provider-settings.js';
import type { ProviderToken } from './provider-token.js';
import { follow, type FollowContext } from './follow.js';
import { ProviderEvents } from './provider-events.js';
import { ProviderCounters } from './provider-stats.js';
import { RequestLimiter } from './request-limiter.js';
import { Evictions } from './evictions.js';
import { TargetMap } from './target-map.js';
import * as state from './target-state.js';
import type { TargetState } from './target-state.js';
import type { TokenTarget } from '../grants/token-source.js';
import { providerHealth, waitUntilReady } from './readiness.js';
import { createProviderTelemetry } from './telemetry.js';
import { ProcessHold } from '../core/timing.js';
import type { AccessToken, ReadyOptions, TokenProvider, TokenProviderEvents, TokenProviderHealth, TokenProviderStats } from '../core/types.js';

/**
 * Targets, the flights this provider follows, stats and events. Refresh arithmetic lives in
 * `provider/target-state.ts`, a flight's work in `provider/obtain-token.ts`. All state is
 * `#private`, so inspecting a provider shows nothing sensitive.
 */
export class AadTokenProvider implements TokenProvider {
  readonly #settings: ProviderSettings;
  readonly #follow: FollowContext;
  readonly #targets: TargetMap;
  readonly #evictions: Evictions;
  readonly #events: ProviderEvents;
  readonly #counters = new ProviderCounters();
  readonly #closing = new AbortController();
  readonly #processHold = new ProcessHold();
  readonly #telemetry = createProviderTelemetry();
  readonly #stopObservingExpiry: () => void;

  constructor(settings: ProviderSettings) {
    this.#settings = settings;
    const { source, cache, logger, refreshWindowMs, timeoutMs, maxConcurrentTokenRequests } = settings;
    const telemetry = this.#telemetry;
    const flight = { source, cache, logger, refreshWindowMs, timeoutMs, limiter: new RequestLimiter(maxConcurrentTokenRequests), telemetry, clientCapabilities: settings.clientCapabilities };
    this.#events = new ProviderEvents(logger);
    const outcomes = { logger, events: this.#events, counters: this.#counters, failureCooldownMs: settings.failureCooldownMs };
    this.#follow = { flight, outcomes, timeoutMs, closing: this.#closing.signal, telemetry };
    // One abort listener per caller waiting on a flight, by design.
    setMaxListeners(0, this.#closing.signal);
    this.#targets = new TargetMap(settings.target, settings.maxKeys);
    this.#evictions = new Evictions(this.#counters, logger, cache);
    this.#stopObservingExpiry = telemetry.observeExpiry(source.grant ?? 'client_credentials', (observe) => {
      for (const { target, token } of this.#targets.all()) if (token !== undefined) observe(target, (token.expiresOnTimestamp - Date.now()) / 1000);
    });
  }

  /** Whether the target is picked per request (`tenantId`, `resource` or `scope` functions). */
  get perRequestTargets(): boolean { return this.#targets.perRequest; } // prettier-ignore

  /** The state for a request's target. Throws `ERR_INVALID_TARGET` when per-request options give a bad value. */
  stateFor(req: IncomingMessage | undefined): TargetState {
    return this.#targets.for(req);
  }

  stateForTarget(target: TokenTarget): TargetState { return this.#targets.forTarget(target); } // prettier-ignore

  /** The hot path: the usable cached token, starting a background refresh when one is due. Never waits. */
  cachedToken(target: TargetState): ProviderToken | undefined {
    const now = Date.now();
    const token = state.usableToken(target, now);
    if (token === undefined) return undefined;
    if (now >= token.refreshAfterTimestamp && state.refreshDue(target, now) && !this.#closing.signal.aborted) this.#refresh(target);
    this.#counters.cacheHits++;
    this.#telemetry.cacheHit();
    return token;
  }

  /** Waits for a token when none is usable: joins the target's flight or starts one. */
  async acquireToken(target: TargetState): Promise<ProviderToken> {
    if (this.#closing.signal.aborted) throw closedError();
    const remembered = state.rememberedFailure(target, Date.now());
    if (remembered !== undefined) throw remembered;
    this.#counters.waits++;
    this.#telemetry.wait();
    // The flight's timers are unref'd (a refresh must never hold a process open); a caller that waits
    // on them holds the process until it has its answer, which comes within timeoutMs.
    const release = this.#processHold.hold();
    try {
      return await follow(this.#follow, target, 'acquire');
    } finally {
      release();
    }
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
    if (token === undefined || typeof raw === 'string') this.#evictions.evictMatching(this.#targets, raw);
  }

  /** Evicts the token a request carried after the backend rejected it, at most once per `cooldownMs` per target. */
  evictRejected(target: TargetState, token: ProviderToken, cooldownMs: number): boolean {
    return this.#evictions.evictRejected(target, token, cooldownMs);
  }

  /**
   * A claims challenge (CAE) to `token`: evicts it as {@link evictRejected} does, and the next token request
   * carries `claims`. Only with `clientCapabilities` (the client said it handles challenges); without, it is a plain 401.
   */
  challenge(target: TargetState, token: ProviderToken, claims: string, cooldownMs: number): boolean {
    if (this.#settings.clientCapabilities === undefined) return this.#evictions.evictRejected(target, token, cooldownMs);
    return this.#evictions.challenge(target, token, claims, cooldownMs);
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

  ready(options?: ReadyOptions<IncomingMessage>): Promise<void> {
    return waitUntilReady(this, this.perRequestTargets, this.#settings.timeoutMs, options);
  }

  health(): TokenProviderHealth {
    return providerHealth(this.#targets.all(), this.#closing.signal.aborted, this.#counters.lastErrorCode);
  }

  /** Aborted when this provider is closed: what its entry points hold for it can be let go. */
  get closeSignal(): AbortSignal {
    return this.#closing.signal;
  }

  /** Stops this provider: its waiting callers get `ERR_CLOSED`; flights other providers follow go on. */
  async close(): Promise<void> {
    this.#closing.abort();
    this.#stopObservingExpiry();
    this.#targets.clear();
  }

  #refresh(target: TargetState): void {
    this.#counters.refreshes++;
    this.#settings.logger.debug(`refreshing the token for ${target.target.key} ahead of expiry`);
    this.#events.emit('refresh', { key: target.target.key, expiresOnTimestamp: target.token!.expiresOnTimestamp });
    // A failure is recorded by takeFailure; the cached token is still served. The refresh is its own trace.
    this.#telemetry.detached(() => follow(this.#follow, target, 'refresh')).catch(() => undefined);
  }
}
