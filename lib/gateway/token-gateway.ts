import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { noTokenInTime, toAadBackendAuthError, type AadBackendAuthError } from '../core/errors.js';
import { beforeDeadline } from '../core/timing.js';
import { insufficientClaims } from '../http/challenge.js';
import { retryAfterFor } from '../http/problem.js';
import { stripClientCredentials } from '../http/header-rules.js';
import { headerRefusal, originRefusal, type AntiForgeryRule } from '../http/anti-forgery.js';
import type { ProviderToken } from '../provider/provider-token.js';
import type { TargetState } from '../provider/target-state.js';
import type { AadTokenProvider } from '../provider/token-provider.js';
import type { AadBackendAuthLogger } from '../core/types.js';
import type { Subject } from '../subjects/subject.js';

/** How a gateway treats requests and backend answers; parsed from the entry point's options. */
export interface GatewayRules {
  /** Lower-case header that carries the token. */
  readonly header: string;
  /** Lower-case inbound headers deleted before forwarding: `authorization`, the token header and `removeHeaders`. */
  readonly removeHeaders: readonly string[];
  /** Backend statuses after which the token the request carried is evicted (HTTP entry point). */
  readonly purgeOnStatus: readonly number[];
  /** How long after an eviction another backend refusal may evict again. */
  readonly purgeCooldownMs: number;
  /** What `Retry-After` says when the error itself names no wait. */
  readonly fallbackRetryAfterSeconds: number;
  /** The longest a request waits for its token, whatever the subject did first (validating a user token, say). */
  readonly timeoutMs: number;
  readonly logger: AadBackendAuthLogger;
  /**
   * Anti-forgery for entry points that act on ambient credentials (a cookie session): checked
   * first, before the subject reads anything. `undefined` when off.
   */
  readonly antiForgery?: AntiForgeryRule | undefined;
}

/**
 * Where the one flow ends, for one kind of entry point: an HTTP request (`a` = response,
 * `b` = next), an upgrade (`a` = socket, `b` = head) or a client call (`a`/`b` = resolve/reject).
 * Built once per entry point, so the hot path allocates nothing for it.
 */
export interface Outlet<A, B> {
  /** Whether the client's own credentials are stripped from `req` (entry points that forward `req`). */
  readonly strips: boolean;
  /** An upgrade cannot carry the anti-forgery header: its `Origin` is checked instead. @default false */
  readonly upgrade?: boolean;
  /** Puts the token on the way to the backend; `headers` is `req.headers`, read once by the gateway. */
  deliver(req: IncomingMessage, headers: IncomingHttpHeaders | undefined, a: A, b: B, state: TargetState, token: ProviderToken): void;
  /** Answers a request that gets no token; nothing is forwarded. */
  refuse(req: IncomingMessage, a: A, b: B, error: AadBackendAuthError): void;
  /** Whether the caller went away (or was answered by someone else) while the token was fetched. */
  gone(a: A): boolean;
  /** `deliver` threw after an asynchronous step. */
  crashed(a: A, b: B, error: unknown): void;
}

/** A token and the target it was obtained for, as a client call gets it. */
export interface IssuedToken {
  readonly state: TargetState;
  readonly token: ProviderToken;
}

/**
 * The one request flow, owned by one object per identity: pick the subject's target, strip the
 * client's credentials, take the cached token or wait for one (single flight), hand it to the
 * entry point, or answer the failure. The Express middleware, the upgrade handler and the
 * fetch and axios clients are thin outlets over it.
 */
export class TokenGateway {
  readonly provider: AadTokenProvider;
  readonly subject: Subject;
  readonly rules: GatewayRules;

  constructor(provider: AadTokenProvider, subject: Subject, rules: GatewayRules) {
    this.provider = provider;
    this.subject = subject;
    this.rules = rules;
  }

  /** Runs the flow for `req`; the outlet delivers the token or refuses. Never throws. */
  serve<A, B>(req: IncomingMessage, a: A, b: B, outlet: Outlet<A, B>): void {
    // Read once: behind express-session every request has a hidden class of its own, so each read of `req` costs.
    const headers = req === undefined ? undefined : req.headers;
    const guard = this.rules.antiForgery;
    if (guard !== undefined && headers !== undefined) {
      // Before the pick: a forged request must not even read the session.
      const forged = outlet.upgrade === true ? originRefusal(headers, guard) : headerRefusal(headers, guard);
      if (forged !== undefined) {
        outlet.refuse(req, a, b, forged);
        return;
      }
    }
    let picked: TargetState | Promise<TargetState> | undefined;
    let failure: AadBackendAuthError | undefined;
    try {
      picked = this.subject.pick(req);
    } catch (error) {
      failure = toAadBackendAuthError(error);
    }
    // After the pick: it may read the user's own token, which never reaches the backend.
    if (outlet.strips && headers !== undefined) stripClientCredentials(req, headers, this.rules.removeHeaders);
    if (picked === undefined) {
      outlet.refuse(req, a, b, failure!);
      return;
    }
    if (!(picked instanceof Promise)) {
      this.#obtain(req, headers, a, b, picked, outlet, undefined);
      return;
    }
    // The pick took time (a new user token, validated): the token wait gets only what is left of timeoutMs.
    const deadline = Date.now() + this.rules.timeoutMs;
    picked.then(
      (state) => {
        if (!outlet.gone(a)) this.#obtain(req, headers, a, b, state, outlet, deadline);
      },
      (error: unknown) => outlet.refuse(req, a, b, toAadBackendAuthError(error)),
    ).catch((error: unknown) => outlet.crashed(a, b, error));
  }

  /** The token for a client call: the same flow, without touching `req`. Rejects with `AadBackendAuthError`. */
  issue(req: IncomingMessage | undefined): Promise<IssuedToken> {
    return new Promise((resolve, reject) => this.serve(req as IncomingMessage, resolve, reject, CLIENT_OUTLET));
  }

  /** `Retry-After` seconds for a 503 answer. */
  retryAfter(error: AadBackendAuthError): number | undefined {
    return retryAfterFor(error, this.rules.fallbackRetryAfterSeconds);
  }

  /**
   * The backend refused `token` (a `purgeOnStatus` status, or a client's 401 Bearer challenge):
   * evict it, at most once per `purgeCooldownMs` per target. A claims challenge makes the next
   * token request carry the claims when the subject can meet them; otherwise it throws the
   * subject's error (a user must step up). Returns whether it evicted.
   */
  backendRefused(state: TargetState, token: ProviderToken, status: number, wwwAuthenticate: unknown): boolean {
    const claims = status === 401 ? insufficientClaims(wwwAuthenticate) : undefined;
    if (claims !== undefined) {
      const userMust = this.subject.claimsChallenge(claims);
      if (userMust !== undefined) {
        this.provider.evictRejected(state, token, this.rules.purgeCooldownMs);
        throw userMust;
      }
      return this.provider.challenge(state, token, claims, this.rules.purgeCooldownMs);
    }
    return this.provider.evictRejected(state, token, this.rules.purgeCooldownMs);
  }

  #obtain<A, B>(req: IncomingMessage, headers: IncomingHttpHeaders | undefined, a: A, b: B, state: TargetState, outlet: Outlet<A, B>, deadline: number | undefined): void {
    if (this.subject.obtain !== undefined) {
      this.#obtainFromSubject(req, headers, a, b, state, outlet);
      return;
    }
    const cached = this.provider.cachedToken(state);
    if (cached !== undefined) {
      outlet.deliver(req, headers, a, b, state, cached);
      return;
    }
    const acquired = this.provider.acquireToken(state);
    (deadline === undefined ? acquired : beforeDeadline(acquired, deadline, noTokenInTime)).then(
      (token) => {
        if (outlet.gone(a)) return;
        let usable: ProviderToken;
        try {
          usable = this.subject.usable(token);
        } catch (error) {
          outlet.refuse(req, a, b, toAadBackendAuthError(error));
          return;
        }
        outlet.deliver(req, headers, a, b, state, usable);
      },
      (error: unknown) => outlet.refuse(req, a, b, toAadBackendAuthError(error)),
    ).catch((error: unknown) => outlet.crashed(a, b, error));
  }

  /** A subject that obtains its own tokens (a cookie session): what it gives is delivered as it is. */
  #obtainFromSubject<A, B>(req: IncomingMessage, headers: IncomingHttpHeaders | undefined, a: A, b: B, state: TargetState, outlet: Outlet<A, B>): void {
    let obtained: ProviderToken | Promise<ProviderToken>;
    try {
      obtained = this.subject.obtain!(req, state);
    } catch (error) {
      outlet.refuse(req, a, b, toAadBackendAuthError(error));
      return;
    }
    if (!(obtained instanceof Promise)) {
      outlet.deliver(req, headers, a, b, state, obtained);
      return;
    }
    obtained.then(
      (token) => {
        if (!outlet.gone(a)) outlet.deliver(req, headers, a, b, state, token);
      },
      (error: unknown) => outlet.refuse(req, a, b, toAadBackendAuthError(error)),
    ).catch((error: unknown) => outlet.crashed(a, b, error));
  }
}

type Resolve = (issued: IssuedToken) => void;
type Reject = (error: AadBackendAuthError) => void;

/** Client calls: the token comes back as a promise; the incoming request is left as it is. */
const CLIENT_OUTLET: Outlet<Resolve, Reject> = {
  strips: false,
  deliver: (_req, _headers, resolve, _reject, state, token) => resolve({ state, token }),
  refuse: (_req, _resolve, reject, error) => reject(error),
  gone: () => false,
  crashed: (_resolve, reject, error) => reject(toAadBackendAuthError(error)),
};
