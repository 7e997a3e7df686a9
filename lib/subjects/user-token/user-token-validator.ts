import { decodeJwt, decodeProtectedHeader, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { LRUCache } from 'lru-cache';
import type { AadBackendAuthError } from '../../core/errors.js';
import { deadlineSignal, raceSignal } from '../../core/timing.js';
import { isHeaderSafeToken } from '../../grants/token-response.js';
import type { ExchangeGrant } from '../../grants/exchange-source.js';
import { NEVER, readIssuerKeys, verificationFailure, type IssuerKeys, type IssuerKeysOptions } from './issuer-keys.js';
import { keysUnavailable, userTokenInvalid } from '../../core/user-errors.js';
import { userTokenKindProblem } from './user-token-kind.js';

/** The only algorithm Entra signs access tokens with; `none` and HMAC are refused before any key is looked at. */
const ALGORITHMS = ['RS256'];
/** The most clock skew accepted on `nbf` and `iat`. `exp` is held exactly: an expired token cannot be exchanged. */
export const MAX_CLOCK_TOLERANCE_SECONDS = 60;
/** A failed discovery or JWKS read is remembered this long, so a flood of requests while the IdP is down makes one read. */
const FAILURE_MEMORY_MS = 2000;
const GUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;
/**
 * The validation cache is keyed by the token's last characters (its signature): hashing a
 * 64-character slice costs a fraction of hashing a 1-2 KB token on every request. A hit
 * counts only when the whole token matches, so a collision is a miss, never a mix-up.
 */
const KEY_CHARS = 64;

interface Remembered<T> {
  readonly token: string;
  readonly user: ValidatedUser<T>;
}

/** A user token that passed validation: what the middleware needs to find its exchanged token. */
export interface ValidatedUser<T> {
  /** Built once per user token (the key hashes it): a warm request allocates nothing for it. */
  readonly value: T;
  /** The token's `exp`, in ms since the epoch. */
  readonly expiresAt: number;
}

/** The verifier, a seam so tests can count RS256 verifications without timing anything. */
export type VerifyFunction = (token: string, keys: JWTVerifyGetKey, options: Parameters<typeof jwtVerify>[2]) => Promise<{ payload: JWTPayload }>;

export interface UserTokenValidatorOptions<T> extends IssuerKeysOptions {
  readonly audiences: readonly string[];
  /** At most {@link MAX_CLOCK_TOLERANCE_SECONDS}. */
  readonly clockToleranceSeconds: number;
  /** How many validated tokens are remembered (LRU). */
  readonly maxEntries: number;
  /** The longest one validation (discovery and JWKS included) takes; beyond it, `ERR_IDP_UNAVAILABLE`. */
  readonly timeoutMs: number;
  /** Which user tokens are accepted: delegated access tokens (`on-behalf-of`) or any but ID tokens (`token-exchange`). */
  readonly grant: ExchangeGrant;
  /** What a validated token is turned into, once. */
  readonly build: (token: string, expiresAt: number, payload: JWTPayload) => T;
  readonly verify?: VerifyFunction | undefined;
}

/**
 * Validates user tokens locally with jose (signature, `iss`, `aud`, `exp`, `nbf`,
 * RS256 only) against the issuer's discovered JWKS, and remembers each success until
 * the token's `exp`, so a warm user costs a map lookup, not an RS256 verification.
 * Tokens live only in `#private` fields.
 */
export class UserTokenValidator<T> {
  readonly #options: UserTokenValidatorOptions<T>;
  readonly #verify: VerifyFunction;
  readonly #validated: LRUCache<string, Remembered<T>>;
  /** Validations under way, so concurrent first requests with one token run RS256 once. */
  readonly #validating = new Map<string, Promise<ValidatedUser<T>>>();
  #keys: Promise<IssuerKeys> | undefined;
  #discoveryFailure: { readonly error: AadBackendAuthError; readonly until: number } | undefined;
  #verifications = 0;
  #discoveries = 0;

  constructor(options: UserTokenValidatorOptions<T>) {
    this.#options = options;
    this.#verify = options.verify ?? (jwtVerify as VerifyFunction);
    this.#validated = new LRUCache({ max: options.maxEntries });
  }

  /** Signature verifications run so far (each costs one RS256 check). */
  get verifications(): number {
    return this.#verifications;
  }

  /** Discovery documents read so far. */
  get discoveries(): number {
    return this.#discoveries;
  }

  /** The remembered outcome for `token`, if it is still unexpired. Synchronous: the hot path. */
  cached(token: string): ValidatedUser<T> | undefined {
    const key = token.length > KEY_CHARS ? token.slice(-KEY_CHARS) : token;
    const hit = this.#validated.get(key);
    if (hit === undefined || hit.token !== token) return undefined;
    if (Date.now() < hit.user.expiresAt) return hit.user;
    this.#validated.delete(key);
    return undefined;
  }

  /** Validates `token`, or rejects with `ERR_USER_TOKEN_INVALID` (401) or `ERR_IDP_UNAVAILABLE` (503). */
  async validate(token: string): Promise<ValidatedUser<T>> {
    const hit = this.cached(token);
    if (hit !== undefined) return hit;
    let pending = this.#validating.get(token);
    if (pending === undefined) {
      pending = this.#validateUncached(token);
      this.#validating.set(token, pending);
      const settled = (): void => void this.#validating.delete(token);
      pending.then(settled, settled);
    }
    return pending;
  }

  async #validateUncached(token: string): Promise<ValidatedUser<T>> {
    // Cheap checks first: garbage, `alg: none` and HMAC never cost a discovery or a JWKS read.
    if (!isHeaderSafeToken(token)) throw userTokenInvalid('not a JWT');
    let alg: unknown;
    try {
      alg = decodeProtectedHeader(token).alg;
    } catch {
      throw userTokenInvalid('not a JWT');
    }
    if (alg !== 'RS256') throw userTokenInvalid(`algorithm ${typeof alg === 'string' ? alg.slice(0, 20) : 'missing'} is not accepted`);
    let claims: JWTPayload;
    try {
      claims = decodeJwt(token);
    } catch {
      throw userTokenInvalid('not a JWT');
    }
    // The wrong kind of token (app-only, ID token) costs no discovery, no JWKS read and no exchange.
    const wrongKind = userTokenKindProblem(claims, this.#options.grant);
    if (wrongKind !== undefined) throw userTokenInvalid(wrongKind);
    // One deadline for discovery and keys together: an IdP that trickles bytes holds no request past it.
    const { timeoutMs } = this.#options;
    const deadline = deadlineSignal(timeoutMs, NEVER);
    const timedOut = (error: unknown): boolean => deadline.signal.aborted && error === deadline.signal.reason;
    let payload: JWTPayload;
    try {
      let keys: IssuerKeys;
      try {
        keys = await raceSignal(this.#discover(), deadline.signal);
      } catch (error) {
        throw timedOut(error) ? keysUnavailable(`discovery took longer than ${timeoutMs} ms`) : error;
      }
      this.#verifications++;
      const verification = this.#verify(token, keys.jwks, {
        algorithms: ALGORITHMS,
        issuer: keys.issuers,
        audience: [...this.#options.audiences],
        clockTolerance: this.#options.clockToleranceSeconds,
        requiredClaims: ['exp'],
      });
      try {
        ({ payload } = await raceSignal(verification, deadline.signal));
      } catch (error) {
        throw timedOut(error) ? keysUnavailable(`the signing keys took longer than ${timeoutMs} ms`) : verificationFailure(error);
      }
    } finally {
      deadline.clear();
    }
    const expiresAt = (payload.exp as number) * 1000;
    if (Date.now() >= expiresAt) throw userTokenInvalid('expired');
    const validated: ValidatedUser<T> = { value: this.#options.build(token, expiresAt, payload), expiresAt };
    this.#validated.set(token.length > KEY_CHARS ? token.slice(-KEY_CHARS) : token, { token, user: validated });
    return validated;
  }

  clear(): void {
    this.#validated.clear();
  }

  /** Discovery once (single flight); a failure is remembered briefly, then tried again. */
  #discover(): Promise<IssuerKeys> {
    const failure = this.#discoveryFailure;
    if (failure !== undefined && Date.now() < failure.until) return Promise.reject(failure.error);
    if (this.#keys === undefined) {
      this.#discoveries++;
      const started = readIssuerKeys(this.#options, FAILURE_MEMORY_MS);
      this.#keys = started;
      started.catch((error: AadBackendAuthError) => {
        if (this.#keys === started) this.#keys = undefined;
        this.#discoveryFailure = { error, until: Date.now() + FAILURE_MEMORY_MS };
      });
    }
    return this.#keys;
  }
}

/** The tenant id in an Entra issuer such as `https://login.microsoftonline.com/{tid}/v2.0`. */
export function tenantIdOfIssuer(issuer: string): string | undefined {
  return issuer.match(GUID)?.[0];
}
