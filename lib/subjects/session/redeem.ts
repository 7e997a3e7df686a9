import { AadBackendAuthError, noTokenInTime } from '../../core/errors.js';
import { CACHE_TIMEOUT_MS, cacheCall } from '../../provider/cache-access.js';
import { ProviderToken } from '../../provider/provider-token.js';
import { retryDelayMs } from '../../provider/target-state.js';
import { sessionExpired, type RefreshTokenGrant } from '../../grants/refresh-token-grant.js';
import { beforeDeadline, deadlineSignal, sleep, withTimeout } from '../../core/timing.js';
import type { AadBackendAuthLogger, TokenCacheLock } from '../../core/types.js';
import { refreshTokenHash, type HandOff, type SessionLedger } from './ledger.js';

const LOCK_POLL_MS = 50;
const UPDATE_WAIT_MS = 250;
/** A chain of hand-offs longer than this is not followed: no honest session falls that far behind. */
const MAX_HOPS = 32;

/** The newest tokens of a session after a refresh or a hand-off. Holds tokens: never logged. */
export interface Latest {
  readonly refreshToken: string;
  readonly access: ProviderToken;
  /** The scope the IdP granted with `access`, when known. */
  readonly grantedScope: string | undefined;
}

/** Writes the newest tokens to the session of the request that redeemed, or of a stale copy. Never rejects. */
export type WriteSession = (latest: Latest) => Promise<void>;

/** Where a refresh starts: the session's refresh token, its hash and family. */
export interface RefreshStart {
  readonly refreshToken: string;
  readonly hash: string;
  readonly family: string;
}

type Round = { readonly kind: 'moved' } | { readonly kind: 'redeemed'; readonly scopeKey: string; readonly latest: Latest };
const MOVED: Round = { kind: 'moved' };

export interface RedeemerSettings {
  readonly grant: RefreshTokenGrant;
  readonly ledger: SessionLedger;
  readonly logger: AadBackendAuthLogger;
  readonly timeoutMs: number;
  readonly refreshWindowMs: number;
  /** The cache key of a family's access token for a scope. */
  readonly accessKey: (family: string, scopeKey: string) => string;
}

/**
 * One redemption per refresh token, per process and (with a shared cache's lock) per fleet. A
 * request follows hand-offs to the newest refresh token of its chain, takes an access token
 * someone else already obtained for its scope, joins the redemption in flight, or redeems.
 */
export class SessionRedeemer {
  readonly #s: RedeemerSettings;

  constructor(settings: RedeemerSettings) {
    this.#s = settings;
  }

  /**
   * A usable access token for `scope`, fresher than `current` when given. `write` is called with
   * the newest tokens by the request that redeemed (inside the flight, before anyone gets the
   * token) and by a request whose session copy was behind; not by those who joined a flight.
   */
  async tokenFor(start: RefreshStart, scope: string | undefined, current: ProviderToken | undefined, write: WriteSession): Promise<ProviderToken> {
    const { ledger, logger } = this.#s;
    const scopeKey = scope ?? '';
    const deadline = Date.now() + this.#s.timeoutMs;
    let { refreshToken, hash, family } = start;
    let behind = false;
    let handed: HandOff | undefined;
    if (family === hash) family = (await ledger.familyShared(hash, logger)) ?? family;
    for (let hops = 0; Date.now() < deadline; ) {
      if (await ledger.isDead(hash, logger)) throw sessionExpired('the IdP refused this refresh token before');
      // A redemption of this refresh token in progress here: wait for it, even if its hand-off is already recorded.
      const inFlight = ledger.flights.get(hash) as Promise<Round> | undefined;
      if (inFlight !== undefined) {
        const round = await beforeDeadline(inFlight, deadline, noTokenInTime);
        if (round.kind === 'moved' || round.scopeKey !== scopeKey) continue;
        if (behind) await write(round.latest);
        return round.latest.access;
      }
      const handOff = await ledger.handOff(hash, logger);
      if (handOff !== undefined) {
        if (++hops > MAX_HOPS) break;
        ({ refreshToken, family } = handOff);
        hash = refreshTokenHash(refreshToken);
        handed = handOff;
        behind = true;
        continue;
      }
      const fromHandOff = handed?.scopeKey === scopeKey ? fresher(ProviderToken.fromStored(handed.access), current) : undefined;
      const found = fromHandOff ?? fresher(await this.#readAccess(family, scopeKey, deadline), current);
      if (found !== undefined) {
        if (behind) await write({ refreshToken, access: found, grantedScope: fromHandOff === undefined ? undefined : handed!.grantedScope });
        return found;
      }
      // Another request started a redemption while this one looked around: join it (at the top).
      if (ledger.flights.has(hash)) continue;
      // This request redeems; its session is written inside the flight, before anyone gets the token.
      const round = await beforeDeadline(this.#startFlight({ refreshToken, hash, family }, scope, scopeKey, current, write), deadline, noTokenInTime);
      if (round.kind === 'moved' || round.scopeKey !== scopeKey) continue;
      return round.latest.access;
    }
    throw noTokenInTime();
  }

  #startFlight(start: RefreshStart, scope: string | undefined, scopeKey: string, current: ProviderToken | undefined, write: WriteSession): Promise<Round> {
    const { ledger } = this.#s;
    const flight = this.#underLock(start, scope, scopeKey, current, write);
    ledger.flights.set(start.hash, flight);
    const forget = (): void => {
      if (ledger.flights.get(start.hash) === flight) ledger.flights.delete(start.hash);
    };
    flight.then(forget, forget);
    return flight;
  }

  /** With a shared cache's lock: one instance of the fleet redeems; the others wait for its hand-off. */
  async #underLock(start: RefreshStart, scope: string | undefined, scopeKey: string, current: ProviderToken | undefined, write: WriteSession): Promise<Round> {
    const { ledger, logger } = this.#s;
    const shared = ledger.shared;
    if (shared?.lock === undefined) return this.#redeem(start, scope, scopeKey, write);
    let lock: TokenCacheLock | undefined;
    try {
      // The lock outlives the redemption's deadline, so it never expires while the IdP is asked.
      lock = await withTimeout(shared.lock(`session|${start.hash}`, this.#s.timeoutMs + 5000), CACHE_TIMEOUT_MS);
    } catch {
      logger.debug('token cache lock failed, redeeming the refresh token without the fleet lock');
      return this.#redeem(start, scope, scopeKey, write);
    }
    if (lock === undefined) {
      // Another instance redeems this refresh token: wait for its hand-off (or access token), then look again.
      if (shared.waitForUpdate === undefined) await sleep(LOCK_POLL_MS);
      else await cacheCall(logger, () => shared.waitForUpdate!(`handoff|${start.hash}`, UPDATE_WAIT_MS), 'wait', UPDATE_WAIT_MS + CACHE_TIMEOUT_MS);
      return MOVED;
    }
    const held = lock;
    try {
      // The holder before us may have finished between our look and our lock.
      if ((await ledger.handOff(start.hash, logger)) !== undefined) return MOVED;
      if (fresher(await this.#readAccess(start.family, scopeKey, Date.now() + CACHE_TIMEOUT_MS), current) !== undefined) return MOVED;
      return await this.#redeem(start, scope, scopeKey, write);
    } finally {
      void cacheCall(logger, () => held.release(), 'lock release');
    }
  }

  /** Redeems, records the rotation, stores the access token, writes the redeeming request's session. */
  async #redeem(start: RefreshStart, scope: string | undefined, scopeKey: string, write: WriteSession): Promise<Round> {
    const { ledger, logger, grant } = this.#s;
    const requestedAt = Date.now();
    let redeemed;
    try {
      redeemed = await this.#withRetries(start.refreshToken, scope, requestedAt + this.#s.timeoutMs);
    } catch (error) {
      if (error instanceof AadBackendAuthError && error.code === 'ERR_USER_SESSION_EXPIRED') {
        logger.info(`refresh token ${start.hash.slice(0, 8)}… refused by the IdP; the session must sign in again`);
        await ledger.markDead(start.hash, logger);
      }
      throw error;
    }
    const access = ProviderToken.fromFetched(redeemed.fetched, requestedAt, this.#s.refreshWindowMs);
    const refreshToken = redeemed.refreshToken ?? start.refreshToken;
    const latest: Latest = { refreshToken, access, grantedScope: redeemed.scope };
    if (refreshToken !== start.refreshToken) {
      const handOff = { refreshToken, family: start.family, scopeKey, grantedScope: redeemed.scope, access: access.toStored() };
      await ledger.recordHandOff(start.hash, handOff, logger);
    }
    const key = this.#s.accessKey(start.family, scopeKey);
    await cacheCall(logger, () => ledger.cache.set(key, access.toStored(), access.useUntilTimestamp - Date.now()), 'set');
    logger.debug(`refreshed the session token for ${grant.serverAddress} (refresh token ${refreshToken === start.refreshToken ? 'kept' : 'rotated'})`);
    await write(latest);
    return { kind: 'redeemed', scopeKey, latest };
  }

  /**
   * Retries only answers that show the IdP did not redeem the refresh token (429, 5xx). A request
   * that got no answer is not retried: the IdP may have rotated it, and a second try would be reuse.
   */
  async #withRetries(refreshToken: string, scope: string | undefined, deadline: number): ReturnType<RefreshTokenGrant['redeem']> {
    for (let attempt = 0; ; attempt++) {
      const timeout = deadlineSignal(Math.max(1, deadline - Date.now()));
      try {
        return await this.#s.grant.redeem(refreshToken, scope, timeout.signal);
      } catch (error) {
        if (!(error instanceof AadBackendAuthError) || !error.transient || error.idpStatus === undefined) throw error;
        const waitMs = retryDelayMs(attempt, error.retryAfterSeconds);
        if (Date.now() + waitMs >= deadline) throw error;
        await sleep(waitMs);
      } finally {
        timeout.clear();
      }
    }
  }

  async #readAccess(family: string, scopeKey: string, deadline: number): Promise<ProviderToken | undefined> {
    const { ledger, logger } = this.#s;
    const timeoutMs = Math.min(CACHE_TIMEOUT_MS, Math.max(1, deadline - Date.now()));
    return ProviderToken.fromStored(await cacheCall(logger, () => ledger.cache.get(this.#s.accessKey(family, scopeKey)), 'get', timeoutMs));
  }
}

/** `token` when it is usable and not yet due for a refresh, and newer than `current`. */
function fresher(token: ProviderToken | undefined, current: ProviderToken | undefined): ProviderToken | undefined {
  if (token === undefined) return undefined;
  const now = Date.now();
  if (now >= token.refreshAfterTimestamp) return undefined;
  if (current !== undefined && token.expiresOnTimestamp <= current.expiresOnTimestamp) return undefined;
  return token;
}

