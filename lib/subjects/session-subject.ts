import type { IncomingMessage } from 'node:http';
import { LRUCache } from 'lru-cache';
import { AadBackendAuthError } from '../errors.js';
import type { Subject } from '../gateway/subject.js';
import { userInteractionRequired, userTokenMissing } from '../obo/user-errors.js';
import { ProviderToken } from '../provider-token.js';
import { evict, recordFailure, rememberedFailure, usableToken, type TargetState } from '../provider/target-state.js';
import { sessionExpired } from '../sources/refresh-token-grant.js';
import type { TokenTarget } from '../sources/token-source.js';
import type { AadTokenProvider } from '../token-provider.js';
import { withTimeout } from '../timing.js';
import type { AadBackendAuthLogger } from '../types.js';
import { refreshTokenHash, type SessionLedger } from './session/ledger.js';
import type { Latest, SessionRedeemer } from './session/redeem.js';
import type { UserTokens, UserTokenSession } from './session/types.js';

/** The session's own access token is not forwarded in its last 30 seconds. */
const OWN_TOKEN_MARGIN_MS = 30_000;
const MAX_REFRESH_TOKEN_LENGTH = 16 * 1024;
const PRINTABLE = /^[\x21-\x7e]+$/;

/** A refresh token this middleware has seen: its hash, and the target of its family for the scope. */
interface Known {
  readonly hash: string;
  readonly family: string;
  readonly target: TokenTarget;
}

/** What `pick` read for a request, for `obtain`. */
interface Seen {
  readonly tokens: UserTokens;
  readonly known: Known;
}

export interface SessionSubjectSettings {
  readonly session: UserTokenSession;
  /** The scope asked for, exactly as configured; `undefined` forwards the session's own access token. */
  readonly scope: string | undefined;
  readonly ledger: SessionLedger;
  readonly redeemer: SessionRedeemer;
  /** The target of a family for this middleware's scope; its key is also the cache key of the access token. */
  readonly targetFor: (family: string) => TokenTarget;
  readonly maxUsers: number;
  readonly failureCooldownMs: number;
  /** The longest `session.set` is waited for. */
  readonly timeoutMs: number;
  readonly logger: AadBackendAuthLogger;
}

/**
 * The signed-in user of a cookie session: request → `session.get(req)` → the refresh token's
 * family → its access token for the scope. It obtains tokens itself (`obtain`), because only a
 * live request can write its session: the request that refreshes calls `session.set` before
 * anyone uses the new token. Refreshes are shared per family in this middleware, and per refresh
 * token in the process and the fleet (see `session/redeem.ts`).
 */
export class SessionSubject implements Subject {
  readonly perUser = true;
  readonly needsRequest = true;
  readonly #provider: AadTokenProvider;
  readonly #s: SessionSubjectSettings;
  readonly #known: LRUCache<string, Known>;
  readonly #requests = new WeakMap<IncomingMessage, Seen>();

  constructor(provider: AadTokenProvider, settings: SessionSubjectSettings) {
    this.#provider = provider;
    this.#s = settings;
    this.#known = new LRUCache({ max: settings.maxUsers });
  }

  /** Reads the session; synchronous when `session.get` is. */
  pick(req: IncomingMessage | undefined): TargetState | Promise<TargetState> {
    if (req === undefined) throw userTokenMissing('the request is needed to find its session');
    let got: unknown;
    try {
      got = this.#s.session.get(req);
    } catch {
      throw userTokenMissing('session.get threw');
    }
    if (!(got instanceof Promise)) return this.#pickFor(req, got);
    return got.then(
      (tokens: unknown) => this.#pickFor(req, tokens),
      () => {
        throw userTokenMissing('session.get rejected');
      },
    );
  }

  known(req: IncomingMessage | undefined): TargetState | undefined {
    const seen = req === undefined ? undefined : this.#requests.get(req);
    return seen === undefined ? undefined : this.#provider.stateForTarget(seen.known.target);
  }

  /** The session's own token while usable; the family's token; or a refresh on this request. */
  obtain(req: IncomingMessage | undefined, state: TargetState): ProviderToken | Promise<ProviderToken> {
    const seen = req === undefined ? undefined : this.#requests.get(req);
    if (seen === undefined) throw userTokenMissing('the request was not read from a session');
    const now = Date.now();
    // A session copy behind a rotation this process made takes the newest tokens and writes them.
    const { ledger } = this.#s;
    if (ledger.handOffHere(seen.known.hash) && !ledger.flights.has(seen.known.hash)) return this.#adopt(req!, seen, state);
    const forwardsOwn = this.#forwardsOwn(seen.tokens);
    if (forwardsOwn) {
      const own = ownToken(seen.tokens, state, now);
      if (own !== undefined) return own;
    }
    let held = usableToken(state, now);
    // The session's own token, past the own-token rule: not served from the family's state either.
    if (forwardsOwn && held !== undefined && held.token === seen.tokens.accessToken) held = undefined;
    // Past its refresh point, the first request refreshes inline; the others are served while it is usable.
    if (held !== undefined && (now < held.refreshAfterTimestamp || state.pending !== undefined || now < state.refreshNotBefore)) return held;
    if (held === undefined) {
      const failure = rememberedFailure(state, now);
      if (failure !== undefined) throw failure;
    }
    return this.#refresh(req!, seen, state);
  }

  usable(token: ProviderToken): ProviderToken {
    return token;
  }

  /** The BFF cannot meet a claims challenge with the session's tokens: the user signs in again. */
  claimsChallenge(claims: string): AadBackendAuthError {
    return userInteractionRequired('the backend answered a claims challenge to the user token', claims);
  }

  close(): void {
    this.#known.clear();
  }

  #pickFor(req: IncomingMessage, value: unknown): TargetState | Promise<TargetState> {
    const tokens = value as UserTokens | undefined;
    const refreshToken = tokens?.refreshToken;
    if (typeof refreshToken !== 'string' || refreshToken === '' || refreshToken.length > MAX_REFRESH_TOKEN_LENGTH || !PRINTABLE.test(refreshToken)) {
      throw userTokenMissing('the session holds no refresh token');
    }
    let known = this.#known.get(refreshToken);
    if (known === undefined) {
      const hash = refreshTokenHash(refreshToken);
      const family = this.#s.ledger.familyHere(hash) ?? hash;
      known = { hash, family, target: this.#s.targetFor(family) };
      this.#known.set(refreshToken, known);
    }
    // A refresh token the IdP refused is never tried again.
    if (this.#s.ledger.isDeadHere(known.hash)) return this.#expired(req, sessionExpired('the IdP refused this refresh token before'));
    this.#requests.set(req, { tokens: tokens!, known });
    return this.#provider.stateForTarget(known.target);
  }

  #forwardsOwn(tokens: UserTokens): boolean {
    return this.#s.scope === undefined || this.#s.scope === tokens.scope;
  }

  /** This request refreshes, or shares the refresh of its family in progress. */
  #refresh(req: IncomingMessage, seen: Seen, state: TargetState): Promise<ProviderToken> {
    let pending = state.pending;
    if (pending === undefined) {
      const { tokens, known } = seen;
      const start = { refreshToken: tokens.refreshToken, hash: known.hash, family: known.family };
      const write = (latest: Latest): Promise<void> => this.#write(req, tokens, latest);
      const started = this.#s.redeemer.tokenFor(start, this.#s.scope, state.token, write).then(
        (token) => {
          if (state.pending === started) state.pending = undefined;
          if (state.token === undefined || token.expiresOnTimestamp > state.token.expiresOnTimestamp) state.token = token;
          state.failure = undefined;
          state.refreshFailures = 0;
          state.refreshNotBefore = 0;
          return token;
        },
        (error: unknown) => {
          if (state.pending === started) state.pending = undefined;
          const failure = error instanceof AadBackendAuthError ? error : new AadBackendAuthError('ERR_INTERNAL', 'An internal error occurred while refreshing the session');
          if (failure.code === 'ERR_USER_SESSION_EXPIRED') evict(state);
          else recordFailure(state, failure, 'acquire', Date.now(), this.#s.failureCooldownMs);
          throw failure;
        },
      );
      state.pending = pending = started;
    }
    return pending.catch((error: unknown) => this.#failed(req, error, state));
  }

  /** What a request gets when its refresh failed: an outage serves a still-usable token; an expired session is cleared. */
  #failed(req: IncomingMessage, error: unknown, state: TargetState): Promise<ProviderToken> {
    const failure = error instanceof AadBackendAuthError ? error : new AadBackendAuthError('ERR_INTERNAL', 'An internal error occurred while refreshing the session');
    if (failure.code === 'ERR_USER_SESSION_EXPIRED') return this.#expired(req, failure);
    const held = usableToken(state, Date.now());
    if (held !== undefined && failure.transient) return Promise.resolve(held);
    return Promise.reject(failure);
  }

  /** Follows this process's hand-offs from the request's refresh token, and writes the newest tokens to its session. */
  #adopt(req: IncomingMessage, seen: Seen, state: TargetState): Promise<ProviderToken> {
    const { tokens, known } = seen;
    const start = { refreshToken: tokens.refreshToken, hash: known.hash, family: known.family };
    return this.#s.redeemer.tokenFor(start, this.#s.scope, undefined, (latest) => this.#write(req, tokens, latest)).catch((error: unknown) => this.#failed(req, error, state));
  }

  /** Writes the newest tokens to the request's session: the own access token too when this middleware forwards it. */
  async #write(req: IncomingMessage, tokens: UserTokens, latest: Latest): Promise<void> {
    const own = this.#forwardsOwn(tokens);
    if (!own && latest.refreshToken === tokens.refreshToken) return;
    const next: UserTokens = own
      ? { refreshToken: latest.refreshToken, accessToken: latest.access.token, expiresAt: latest.access.expiresOnTimestamp, scope: latest.grantedScope ?? tokens.scope }
      : { ...tokens, refreshToken: latest.refreshToken };
    try {
      // Bounded: the refresh's flight (and the fleet lock) waits for this write.
      await withTimeout(Promise.resolve().then(() => this.#s.session.set(req, next)), this.#s.timeoutMs);
    } catch {
      // The hand-off keeps the rotated tokens for a while: a later request of this session takes them from there.
      this.#s.logger.warn('session.set failed after a refresh; the session will take the rotated tokens on its next request');
    }
  }

  async #expired(req: IncomingMessage, error: AadBackendAuthError): Promise<never> {
    try {
      await this.#s.session.clear?.(req);
    } catch {
      this.#s.logger.warn('session.clear failed');
    }
    throw error;
  }
}

/** The session's own access token while it has more than 30 s left, unless it was evicted. */
function ownToken(tokens: UserTokens, state: TargetState, now: number): ProviderToken | undefined {
  const { accessToken, expiresAt } = tokens;
  if (typeof accessToken !== 'string' || typeof expiresAt !== 'number' || !(now < expiresAt - OWN_TOKEN_MARGIN_MS)) return undefined;
  const held = state.token;
  if (held !== undefined && held.token === accessToken && held.expiresOnTimestamp === Math.floor(expiresAt)) return held;
  if (accessToken === state.evictedToken) return undefined;
  const useUntil = expiresAt - OWN_TOKEN_MARGIN_MS;
  const own = ProviderToken.fromStored({ token: accessToken, expiresOnTimestamp: expiresAt, refreshAfterTimestamp: useUntil, useUntilTimestamp: useUntil }, now);
  if (own !== undefined && (held === undefined || own.expiresOnTimestamp > held.expiresOnTimestamp)) state.token = own;
  return own;
}
