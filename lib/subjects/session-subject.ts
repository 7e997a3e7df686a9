import type { IncomingMessage } from 'node:http';
import { AadBackendAuthError, closedError } from '../core/errors.js';
import type { Subject } from './subject.js';
import { userInteractionRequired, userTokenMissing } from '../core/user-errors.js';
import type { ProviderToken } from '../provider/provider-token.js';
import { rememberedFailure, usableToken, type TargetState } from '../provider/target-state.js';
import { isUsableRefreshToken, sessionExpired } from '../grants/refresh-token-grant.js';
import type { TokenTarget } from '../grants/token-source.js';
import type { AadTokenProvider } from '../provider/token-provider.js';
import type { AadBackendAuthLogger } from '../core/types.js';
import { KnownRefreshTokens, type Known } from './session/known-tokens.js';
import { refreshTokenHash, type SessionLedger } from './session/ledger.js';
import type { Latest, SessionRedeemer } from './session/redeem.js';
import { clearSession, nextTokens, ownToken, writeSession } from './session/session-tokens.js';
import { refreshFailure, refreshFamily } from './session/family-refresh.js';
import type { UserTokens, UserTokenSession } from './session/types.js';

/** What an asynchronous `pick` read for a request, for `obtain`. */
interface Seen {
  readonly tokens: UserTokens;
  readonly known: Known;
}

/** Where a redemption starts: the request's refresh token, by its hash, in its family. */
const startOf = ({ tokens, known }: Seen) => ({ refreshToken: tokens.refreshToken, hash: known.hash, family: known.family });

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
  readonly #known: KnownRefreshTokens;
  /** What an asynchronous `pick` read, for `obtain`, which the gateway calls later. */
  readonly #requests = new WeakMap<IncomingMessage, Seen>();
  /**
   * What a synchronous `pick` read: the gateway calls `obtain` at once, with nothing between, so
   * one slot does, and the hot path spares a WeakMap entry and an object per request. Emptied by `obtain`.
   */
  #lastRequest: IncomingMessage | undefined;
  #lastTokens: UserTokens | undefined;
  #lastKnown: Known | undefined;
  #closed = false;

  constructor(provider: AadTokenProvider, settings: SessionSubjectSettings) {
    this.#provider = provider;
    this.#s = settings;
    this.#known = new KnownRefreshTokens(settings.maxUsers, settings.ledger);
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
    if (!(got instanceof Promise)) return this.#pickFor(req, got, true);
    return got.then(
      (tokens: unknown) => this.#pickFor(req, tokens, false),
      () => {
        throw userTokenMissing('session.get rejected');
      },
    );
  }

  /** For `peek`: the target of a request whose session reads synchronously, or was read before. */
  known(req: IncomingMessage | undefined): TargetState | undefined {
    if (req === undefined) return undefined;
    let known = this.#requests.get(req)?.known;
    if (known === undefined) {
      let tokens: unknown;
      try {
        tokens = this.#s.session.get(req);
      } catch {
        return undefined;
      }
      const refreshToken = tokens instanceof Promise ? undefined : (tokens as UserTokens | undefined)?.refreshToken;
      known = typeof refreshToken === 'string' ? this.#known.find(refreshToken) : undefined;
    }
    return known === undefined ? undefined : this.#stateOf(known);
  }

  /** The session's own token while usable; the family's token; or a refresh on this request. */
  obtain(req: IncomingMessage | undefined, state: TargetState): ProviderToken | Promise<ProviderToken> {
    let tokens: UserTokens | undefined;
    let known: Known | undefined;
    if (req !== undefined && req === this.#lastRequest) {
      tokens = this.#lastTokens;
      known = this.#lastKnown;
      this.#lastRequest = this.#lastTokens = this.#lastKnown = undefined;
    } else if (req !== undefined) {
      const seen = this.#requests.get(req);
      tokens = seen?.tokens;
      known = seen?.known;
    }
    if (tokens === undefined || known === undefined) throw userTokenMissing('the request was not read from a session');
    if (this.#closed) throw closedError();
    const now = Date.now();
    // Its state's place in the provider's LRU too, so a busy session's state is not the one let go.
    if (this.#known.renewIfDue(known, now)) this.#provider.stateForTarget(known.target);
    // A session copy behind a rotation this process made takes the newest tokens and writes them.
    if (known.marked) {
      const { ledger } = this.#s;
      if (ledger.handOffHere(known.hash) && !ledger.flights.has(known.hash)) return this.#adopt(req!, { tokens, known }, state);
    }
    const forwardsOwn = this.#forwardsOwn(tokens);
    if (forwardsOwn) {
      const own = ownToken(tokens, state, now);
      if (own !== undefined) return own;
    } else {
      // The warm path: before its refresh point a token is also before its use-by (ProviderToken keeps them in order).
      const current = state.token;
      if (current !== undefined && now < current.refreshAfterTimestamp) return current;
    }
    let held = usableToken(state, now);
    // The session's own token, past the own-token rule: not served from the family's state either.
    if (forwardsOwn && held !== undefined && held.token === tokens.accessToken) held = undefined;
    // Past its refresh point, the first request refreshes inline; the others are served while it is usable.
    if (held !== undefined && (now < held.refreshAfterTimestamp || state.pending !== undefined || now < state.refreshNotBefore)) return held;
    if (held === undefined) {
      const failure = rememberedFailure(state, now);
      if (failure !== undefined) throw failure;
    }
    return this.#refresh(req!, { tokens, known }, state);
  }

  usable(token: ProviderToken): ProviderToken {
    return token;
  }

  /** The BFF cannot meet a claims challenge with the session's tokens: the user signs in again. */
  claimsChallenge(claims: string): AadBackendAuthError {
    return userInteractionRequired('the backend answered a claims challenge to the user token', claims);
  }

  /** After `tokenProvider.close()`, requests get `ERR_CLOSED`; a redemption in flight still completes and records its rotation. */
  close(): void {
    this.#closed = true;
    this.#known.clear();
  }

  #pickFor(req: IncomingMessage, value: unknown, sync: boolean): TargetState | Promise<TargetState> {
    const tokens = value as UserTokens | undefined;
    const refreshToken = tokens?.refreshToken;
    if (typeof refreshToken !== 'string' || refreshToken === '') throw userTokenMissing('the session holds no refresh token');
    let known = this.#known.find(refreshToken);
    if (known === undefined) {
      // Checked once per refresh token, not per request: a long token makes the check cost microseconds.
      if (!isUsableRefreshToken(refreshToken)) throw userTokenMissing('the session holds no usable refresh token');
      const hash = refreshTokenHash(refreshToken);
      const family = this.#s.ledger.familyHere(hash) ?? hash;
      known = this.#known.add(refreshToken, hash, family, this.#s.targetFor(family));
    }
    // A refresh token the IdP refused is never tried again.
    if (known.marked && this.#s.ledger.isDeadHere(known.hash)) return this.#expired(req, sessionExpired('the IdP refused this refresh token before'));
    if (sync) {
      this.#lastRequest = req;
      this.#lastTokens = tokens;
      this.#lastKnown = known;
    } else {
      this.#requests.set(req, { tokens: tokens!, known });
    }
    return this.#stateOf(known);
  }

  #stateOf(known: Known): TargetState {
    let state = known.state;
    if (state === undefined || state.retired) known.state = state = this.#provider.stateForTarget(known.target);
    return state;
  }

  #forwardsOwn(tokens: UserTokens): boolean {
    return this.#s.scope === undefined || this.#s.scope === tokens.scope;
  }

  /** This request refreshes, or shares the refresh of its family in progress. */
  #refresh(req: IncomingMessage, seen: Seen, state: TargetState): Promise<ProviderToken> {
    const redeem = (): Promise<ProviderToken> => this.#s.redeemer.tokenFor(startOf(seen), this.#s.scope, state.token, (latest) => this.#write(req, seen.tokens, latest));
    const pending = state.pending ?? refreshFamily(state, redeem, this.#s.failureCooldownMs);
    return pending.catch((error: unknown) => this.#failed(req, error, state));
  }

  /** What a request gets when its refresh failed: an outage serves a still-usable token; an expired session is cleared. */
  #failed(req: IncomingMessage, error: unknown, state: TargetState): Promise<ProviderToken> {
    const failure = refreshFailure(error);
    if (failure.code === 'ERR_USER_SESSION_EXPIRED') return this.#expired(req, failure);
    const held = usableToken(state, Date.now());
    if (held !== undefined && failure.transient) return Promise.resolve(held);
    return Promise.reject(failure);
  }

  /** Follows this process's hand-offs from the request's refresh token, and writes the newest tokens to its session. */
  #adopt(req: IncomingMessage, seen: Seen, state: TargetState): Promise<ProviderToken> {
    return this.#s.redeemer.tokenFor(startOf(seen), this.#s.scope, undefined, (latest) => this.#write(req, seen.tokens, latest)).catch((error: unknown) => this.#failed(req, error, state));
  }

  /** Writes the newest tokens to the request's session: the own access token too when this middleware forwards it. */
  async #write(req: IncomingMessage, tokens: UserTokens, latest: Latest): Promise<void> {
    const next = nextTokens(tokens, latest, this.#forwardsOwn(tokens));
    if (next !== undefined) await writeSession(this.#s.session, req, next, this.#s.timeoutMs, this.#s.logger);
  }

  async #expired(req: IncomingMessage, error: AadBackendAuthError): Promise<never> {
    await clearSession(this.#s.session, req, this.#s.timeoutMs, this.#s.logger);
    throw error;
  }
}
