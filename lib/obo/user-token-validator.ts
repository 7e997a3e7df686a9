import { createRemoteJWKSet, customFetch, decodeProtectedHeader, errors as joseErrors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { LRUCache } from 'lru-cache';
import type { AadBackendAuthError } from '../errors.js';
import type { OutboundAgents } from '../sources/outbound-agent.js';
import { createTokenHttp } from '../sources/token-request.js';
import { isHeaderSafeToken } from '../token-response.js';
import { endpointProblem } from '../validation.js';
import { outboundFetch } from './outbound-fetch.js';
import { keysUnavailable, userTokenInvalid } from './user-errors.js';

/** The only algorithm Entra signs access tokens with; `none` and HMAC are refused before any key is looked at. */
const ALGORITHMS = ['RS256'];
/** The most clock skew accepted on `nbf` and `iat`. `exp` is held exactly: an expired token cannot be exchanged. */
export const MAX_CLOCK_TOLERANCE_SECONDS = 60;
/** A failed discovery is remembered this long, so a flood of requests while the IdP is down makes one read. */
const DISCOVERY_FAILURE_MEMORY_MS = 2000;
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

export interface UserTokenValidatorOptions<T> {
  /** The OpenID configuration document that names `jwks_uri` and `issuer`. */
  readonly discoveryUrl: string;
  /** Extra accepted issuers, given the discovered one (the v1 `https://sts.windows.net/{tid}/` on the public cloud). */
  readonly extraIssuers: (discoveredIssuer: string) => readonly string[];
  /** When set, the discovered issuer must be exactly this (RFC 8414 §3.3). */
  readonly expectedIssuer: string | undefined;
  readonly audiences: readonly string[];
  /** At most {@link MAX_CLOCK_TOLERANCE_SECONDS}. */
  readonly clockToleranceSeconds: number;
  /** How many validated tokens are remembered (LRU). */
  readonly maxEntries: number;
  readonly timeoutMs: number;
  /** How discovery and keys leave the process (the token requests' proxy and CA). @default direct, Node's roots */
  readonly agents?: OutboundAgents | undefined;
  /** What a validated token is turned into, once. */
  readonly build: (token: string, expiresAt: number, payload: JWTPayload) => T;
  readonly verify?: VerifyFunction | undefined;
}

interface Keys {
  readonly jwks: JWTVerifyGetKey;
  readonly issuers: string[];
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
  #keys: Promise<Keys> | undefined;
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
    const keys = await this.#discover();
    let payload: JWTPayload;
    try {
      this.#verifications++;
      ({ payload } = await this.#verify(token, keys.jwks, {
        algorithms: ALGORITHMS,
        issuer: keys.issuers,
        audience: [...this.#options.audiences],
        clockTolerance: this.#options.clockToleranceSeconds,
        requiredClaims: ['exp'],
      }));
    } catch (error) {
      throw verificationFailure(error);
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
  #discover(): Promise<Keys> {
    const failure = this.#discoveryFailure;
    if (failure !== undefined && Date.now() < failure.until) return Promise.reject(failure.error);
    if (this.#keys === undefined) {
      const started = this.#readDiscovery();
      this.#keys = started;
      started.catch((error: AadBackendAuthError) => {
        if (this.#keys === started) this.#keys = undefined;
        this.#discoveryFailure = { error, until: Date.now() + DISCOVERY_FAILURE_MEMORY_MS };
      });
    }
    return this.#keys;
  }

  async #readDiscovery(): Promise<Keys> {
    const { discoveryUrl, timeoutMs, expectedIssuer, extraIssuers, agents } = this.#options;
    this.#discoveries++;
    let status: number;
    let body: unknown;
    try {
      const response = await createTokenHttp().get<string>(discoveryUrl, { timeout: timeoutMs, ...agents?.forUrl(discoveryUrl) });
      status = response.status;
      body = response.data;
    } catch (error) {
      const reason = error instanceof Error ? error.message.slice(0, 200) : 'unknown error';
      throw keysUnavailable(`discovery at ${discoveryUrl} failed: ${reason}`);
    }
    if (status !== 200) throw keysUnavailable(`discovery at ${discoveryUrl} answered HTTP ${status}`);
    let document: Record<string, unknown>;
    try {
      document = JSON.parse(typeof body === 'string' ? body : '') as Record<string, unknown>;
    } catch {
      throw keysUnavailable(`discovery at ${discoveryUrl} answered something that is not JSON`);
    }
    const { jwks_uri: jwksUri, issuer } = document ?? {};
    if (typeof jwksUri !== 'string' || endpointProblem(jwksUri.replace(/\?.*$/, '')) !== undefined) {
      throw keysUnavailable(`discovery at ${discoveryUrl} names no usable https jwks_uri`);
    }
    if (typeof issuer !== 'string' || issuer === '') throw keysUnavailable(`discovery at ${discoveryUrl} names no issuer`);
    if (expectedIssuer !== undefined && issuer !== expectedIssuer) {
      throw keysUnavailable(`discovery at ${discoveryUrl} names issuer ${issuer.slice(0, 200)}, not the configured one`);
    }
    // jose caches the keys, refetches at most once per 30 s for an unknown kid, and never follows redirects.
    const jwks = createRemoteJWKSet(new URL(jwksUri), { timeoutDuration: timeoutMs, ...(agents !== undefined && { [customFetch]: outboundFetch(agents) }) });
    return { jwks, issuers: [issuer, ...extraIssuers(issuer)] };
  }
}

/** Signature, claims and format failures are the token's fault (401); an unreachable or broken JWKS is the IdP's (503). */
function verificationFailure(error: unknown): AadBackendAuthError {
  if (error instanceof joseErrors.JWKSTimeout) return keysUnavailable('the JWKS request timed out');
  if (error instanceof joseErrors.JWKSInvalid) return keysUnavailable('the JWKS is not a valid key set');
  if (error instanceof joseErrors.JWTExpired) return userTokenInvalid('expired');
  if (error instanceof joseErrors.JWTClaimValidationFailed) return userTokenInvalid(`claim "${error.claim}" failed (${error.reason})`);
  if (error instanceof joseErrors.JWKSNoMatchingKey) return userTokenInvalid('signed with an unknown key');
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return userTokenInvalid('bad signature');
  if (error instanceof joseErrors.JOSEError && error.code !== 'ERR_JOSE_GENERIC') return userTokenInvalid(error.code);
  // ERR_JOSE_GENERIC is a JWKS answer that is not 200 or not JSON; anything else is the network.
  return keysUnavailable(error instanceof Error ? error.message.slice(0, 200) : 'unknown error');
}

/** The tenant id in an Entra issuer such as `https://login.microsoftonline.com/{tid}/v2.0`. */
export function tenantIdOfIssuer(issuer: string): string | undefined {
  return issuer.match(GUID)?.[0];
}
