import { AadBackendAuthError, toFailure } from '../core/errors.js';
import { ProviderToken } from './provider-token.js';
import type { TokenSource, TokenTarget } from '../grants/token-source.js';
import type { ProviderTelemetry } from './telemetry.js';
import { requestClaims } from '../grants/token-request-claims.js';
import { deadlineSignal, raceSignal, sleep } from '../core/timing.js';
import type { AadBackendAuthLogger, TokenCache } from '../core/types.js';
import { obtainUnderFleetLock, type LockOutcome } from './fleet-lock.js';
import type { RequestLimiter } from './request-limiter.js';
import { readUsable, cacheCall } from './cache-access.js';
import { retryDelayMs, type Purpose } from './target-state.js';

/** What a flight works with: the settings of the provider that started it. */
export interface FlightSettings {
  readonly source: TokenSource;
  readonly cache: TokenCache;
  readonly logger: AadBackendAuthLogger;
  readonly refreshWindowMs: number;
  readonly timeoutMs: number;
  readonly limiter: RequestLimiter;
  readonly telemetry: ProviderTelemetry;
  /** CAE capabilities such as `cp1`, sent as `claims` with every token request. */
  readonly clientCapabilities: readonly string[] | undefined;
}

export interface FlightRequest {
  readonly target: TokenTarget;
  readonly purpose: Purpose;
  readonly current: ProviderToken | undefined;
  readonly evictedToken: string | undefined;
  /** A backend's claims challenge to send, if any. */
  readonly challenge: string | undefined;
  /** Counts each request to the IdP (or call of the credential), retries included. */
  countRequest(): void;
}

/**
 * One flight: adopt a usable token from the cache, or fetch one (under the fleet
 * lock when the cache has one), with retries within the starter's `timeoutMs`.
 */
export async function obtainToken(settings: FlightSettings, request: FlightRequest, signal: AbortSignal): Promise<LockOutcome> {
  const { cache, logger } = settings;
  const key = request.target.key;
  const deadline = Date.now() + settings.timeoutMs;
  const read = (): Promise<ProviderToken | undefined> =>
    readUsable({ cache, logger, key, purpose: request.purpose, deadline, current: request.current, evictedToken: request.evictedToken });
  const fetchAndStore = async (awaitStore: boolean): Promise<ProviderToken> => {
    const token = await fetchWithRetries(settings, request, deadline, signal);
    // A credential may hand back the very token that was just evicted, from its own cache: never share it.
    if (token.token === request.evictedToken) return token;
    const write = cacheCall(logger, () => cache.set(key, token.toStored(), token.useUntilTimestamp - Date.now()), 'set');
    // Under the fleet lock the others wait for this write; otherwise nobody should.
    if (awaitStore) await write;
    return token;
  };

  // A claims challenge skips the cache: what it holds is what the backend refused.
  if (request.challenge !== undefined) return { token: await fetchAndStore(false), origin: 'idp', challenge: request.challenge };
  const stored = await read();
  if (stored !== undefined) return { token: stored, origin: 'cache' };
  if (cache.lock === undefined) return { token: await fetchAndStore(false), origin: 'idp' };
  const lockTtlMs = Math.max(1000, Math.ceil(settings.timeoutMs / 2));
  return obtainUnderFleetLock({ cache: cache as FleetCache, logger, key, deadline, lockTtlMs, signal, readUsable: read, fetchAndStore });
}

type FleetCache = TokenCache & { lock: NonNullable<TokenCache['lock']> };

async function fetchWithRetries(settings: FlightSettings, request: FlightRequest, deadline: number, signal: AbortSignal): Promise<ProviderToken> {
  const { source, limiter, logger, refreshWindowMs, telemetry } = settings;
  const target = request.target;
  const claims = requestClaims(settings.clientCapabilities, request.challenge);
  for (let attempt = 0; ; attempt++) {
    const timeout = deadlineSignal(Math.max(1, deadline - Date.now()), signal);
    let release: (() => void) | undefined;
    let recorded: ReturnType<ProviderTelemetry['tokenRequest']> | undefined;
    let error: AadBackendAuthError;
    try {
      release = await limiter.acquire(timeout.signal);
      const requestedAt = Date.now();
      request.countRequest();
      recorded = telemetry.tokenRequest(source.grant ?? 'client_credentials', target, source.serverAddress, attempt + 1);
      // Raced, not only signalled: a source that ignores its signal must not hold the flight past the deadline.
      const fetched = await raceSignal(source.fetchToken(target, timeout.signal, claims), timeout.signal);
      const token = ProviderToken.fromFetched(fetched, requestedAt, refreshWindowMs, target.notAfter);
      recorded.success();
      return token;
    } catch (thrown) {
      error = asFailure(thrown, timeout.signal, release === undefined, logger);
      recorded?.failure(error.code);
    } finally {
      release?.();
      timeout.clear();
    }
    if (signal.aborted || !error.transient) throw error;
    const waitMs = retryDelayMs(attempt, error.retryAfterSeconds);
    if (Date.now() + waitMs >= deadline) throw error;
    logger.debug(`token request for ${target.key} failed [${error.code}], retrying in ${Math.round(waitMs)} ms: ${error.message}`);
    await sleep(waitMs, signal);
  }
}

function asFailure(thrown: unknown, signal: AbortSignal, queued: boolean, logger: AadBackendAuthLogger): AadBackendAuthError {
  if (thrown instanceof AadBackendAuthError) return thrown;
  if (signal.aborted) {
    const where = queued ? 'while waiting for a free token request slot' : 'before the token source answered';
    return new AadBackendAuthError('ERR_IDP_UNAVAILABLE', `The deadline passed ${where}`);
  }
  return toFailure(thrown, logger);
}
