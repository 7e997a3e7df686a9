import type { FetchedToken } from '../grants/token-source.js';
import { MAX_TOKEN_LIFETIME_SECONDS, isHeaderSafeToken } from '../grants/token-response.js';
import type { AccessToken, StoredToken } from '../core/types.js';

/** The largest safety margin: a token is never forwarded in its last 30 seconds... */
const MAX_SAFETY_MARGIN_MS = 30_000;
/** ...nor in the last 10 % of its life, for short-lived tokens. */
const SAFETY_MARGIN_SHARE = 0.1;

/**
 * A token held by the provider. The token and the ready-made header value are
 * `#private`, exposed through getters, so logging or serialising this object
 * never shows them. Both factories keep its times in order, refresh ≤ use-by ≤
 * expiry, so a token before its refresh point is usable without a second check.
 */
export class ProviderToken implements AccessToken {
  readonly #token: string;
  readonly #authorization: string;
  readonly tokenType = 'Bearer' as const;
  readonly expiresOnTimestamp: number;
  readonly refreshAfterTimestamp: number;
  readonly useUntilTimestamp: number;

  private constructor(token: string, expiresOn: number, refreshAfter: number, useUntil: number) {
    this.#token = token;
    this.#authorization = `Bearer ${token}`;
    this.expiresOnTimestamp = expiresOn;
    this.refreshAfterTimestamp = refreshAfter;
    this.useUntilTimestamp = useUntil;
  }

  get token(): string {
    return this.#token;
  }

  /** `Bearer <token>`, built once so the hot path allocates nothing. */
  get authorization(): string {
    return this.#authorization;
  }

  /**
   * Times are counted from `requestedAt`, when the request left: the IdP's clock
   * started no earlier, so the token is never thought to live longer than it does.
   */
  static fromFetched(fetched: FetchedToken, requestedAt: number, refreshWindowMs: number, notAfter = Infinity): ProviderToken {
    const lifetime = fetched.expiresInMs;
    const expiresOn = requestedAt + lifetime;
    const ownUseUntil = expiresOn - Math.min(MAX_SAFETY_MARGIN_MS, lifetime * SAFETY_MARGIN_SHARE);
    // An exchanged (on-behalf-of) token is never used past the user token it was exchanged for,
    // and is not refreshed ahead when that token ends first: a new one could not live longer.
    const useUntil = Math.min(ownUseUntil, notAfter);
    const halfLife = requestedAt + lifetime / 2;
    const advised = fetched.refreshInMs === undefined ? Infinity : requestedAt + fetched.refreshInMs;
    const refreshAfter = notAfter < ownUseUntil ? useUntil : Math.min(useUntil, Math.max(halfLife, Math.min(expiresOn - refreshWindowMs, advised)));
    return new ProviderToken(fetched.token, expiresOn, Math.floor(refreshAfter), Math.floor(useUntil));
  }

  /**
   * Trusts nothing from a shared store: a corrupt entry gives `undefined`, a miss, and times
   * are clamped to the longest lifetime a fetched token may have, counted from `now`.
   */
  static fromStored(stored: unknown, now = Date.now()): ProviderToken | undefined {
    if (stored === null || typeof stored !== 'object') return undefined;
    const { token, expiresOnTimestamp, refreshAfterTimestamp, useUntilTimestamp } = stored as Partial<StoredToken>;
    const times = [expiresOnTimestamp, refreshAfterTimestamp, useUntilTimestamp];
    if (!isHeaderSafeToken(token) || !times.every((t) => typeof t === 'number' && Number.isFinite(t))) return undefined;
    if (!(refreshAfterTimestamp! <= useUntilTimestamp! && useUntilTimestamp! <= expiresOnTimestamp!)) return undefined;
    const latest = now + MAX_TOKEN_LIFETIME_SECONDS * 1000;
    const expiresOn = Math.min(expiresOnTimestamp!, latest);
    const useUntil = Math.min(useUntilTimestamp!, expiresOn);
    return new ProviderToken(token, expiresOn, Math.min(refreshAfterTimestamp!, useUntil), useUntil);
  }

  toStored(): StoredToken {
    return {
      token: this.#token,
      expiresOnTimestamp: this.expiresOnTimestamp,
      refreshAfterTimestamp: this.refreshAfterTimestamp,
      useUntilTimestamp: this.useUntilTimestamp,
    };
  }
}
