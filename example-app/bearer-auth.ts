import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload } from 'jose';

/** How a resource server checks the Entra ID access tokens it receives. */
export interface BearerAuthOptions {
  /** The expected `iss`, e.g. `https://login.microsoftonline.com/<tenant id>/v2.0`. Several are accepted as an array. */
  readonly issuer: string | readonly string[];
  /** Where the signing keys are, e.g. `https://login.microsoftonline.com/<tenant id>/discovery/v2.0/keys`. */
  readonly jwksUri: string;
  /** The expected `aud`: the API's App ID URI (v1 tokens) or its client id (v2 tokens). */
  readonly audience: string | readonly string[];
  /** The realm named in `WWW-Authenticate` challenges. @default 'aad-backend-auth-example' */
  readonly realm?: string;
  /** Clock skew allowed on `exp` and `nbf`, in seconds. @default 30 */
  readonly clockToleranceSeconds?: number;
}

/** What a verified request carries, on `res.locals.auth`. */
export interface VerifiedToken {
  readonly claims: JWTPayload;
  readonly algorithm: string;
  readonly keyId: string | undefined;
}

/** The RFC 6750 §3.1 error codes. */
type BearerError = 'invalid_request' | 'invalid_token' | 'insufficient_scope';

/** A quoted-string value: RFC 6750 allows neither `"` nor `\` in `error_description`. */
function quoted(text: string): string {
  return `"${text.replace(/["\\]/g, "'").replace(/[^\x20-\x7e]/g, '?')}"`;
}

/**
 * Answers with an RFC 6750 challenge. With no `error` (the request carried no
 * token at all), the challenge names only the realm, as §3.1 asks.
 */
export function challenge(res: Response, realm: string, status: 400 | 401 | 403, error?: BearerError, description?: string, extra: Record<string, unknown> = {}): void {
  const params = [`realm=${quoted(realm)}`];
  if (error !== undefined) params.push(`error=${quoted(error)}`);
  if (description !== undefined) params.push(`error_description=${quoted(description)}`);
  res.status(status).set({ 'WWW-Authenticate': `Bearer ${params.join(', ')}`, 'Cache-Control': 'no-store' });
  res.json(error === undefined ? { error: 'unauthorized', error_description: 'A Bearer token is required.' } : { error, error_description: description, ...extra });
}

/** A safe, token-free explanation of why jose refused a token. */
function describe(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'The token has expired.';
  if (error instanceof errors.JWTClaimValidationFailed) return `The "${error.claim}" claim is not acceptable (${error.reason}).`;
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'The token signature does not verify with the issuer keys.';
  if (error instanceof errors.JWKSNoMatchingKey) return 'No key of the issuer matches the token (kid).';
  if (error instanceof errors.JOSEAlgNotAllowed) return 'The token is not signed with RS256.';
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid) return 'The token is not a well-formed JWT.';
  return 'The token is invalid.';
}

/** The keys could not be fetched: a problem of this server, not of the token. */
function isKeyFetchFailure(error: unknown): boolean {
  return error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid || (error instanceof TypeError && !(error instanceof errors.JOSEError));
}

/**
 * Verifies `Authorization: Bearer <jwt>` with jose: the RS256 signature against
 * the issuer's JWKS, then `iss`, `aud`, `exp` and `nbf`. On success the claims
 * are on `res.locals.auth`; otherwise the answer is an RFC 6750 challenge.
 */
export function requireBearer(options: BearerAuthOptions): RequestHandler {
  const realm = options.realm ?? 'aad-backend-auth-example';
  // createRemoteJWKSet caches the keys and refetches when a new `kid` shows up (at most every 30 s).
  const keys = createRemoteJWKSet(new URL(options.jwksUri), { timeoutDuration: 5000 });
  const verifyOptions = {
    issuer: typeof options.issuer === 'string' ? options.issuer : [...options.issuer],
    audience: typeof options.audience === 'string' ? options.audience : [...options.audience],
    algorithms: ['RS256'],
    requiredClaims: ['exp', 'iat'],
    clockTolerance: options.clockToleranceSeconds ?? 30,
  };

  return function bearerAuth(req: Request, res: Response, next: NextFunction): void {
    const header = req.headers.authorization;
    if (header === undefined || !/^bearer(\s|$)/i.test(header)) {
      challenge(res, realm, 401);
      return;
    }
    const match = /^bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(header);
    if (match === null) {
      challenge(res, realm, 400, 'invalid_request', 'The Authorization header is not "Bearer <token>".');
      return;
    }
    jwtVerify(match[1]!, keys, verifyOptions).then(
      ({ payload, protectedHeader }) => {
        const verified: VerifiedToken = { claims: payload, algorithm: protectedHeader.alg, keyId: protectedHeader.kid };
        res.locals['auth'] = verified;
        next();
      },
      (error: unknown) => {
        if (isKeyFetchFailure(error)) {
          res.status(503).set('Retry-After', '5').json({ error: 'temporarily_unavailable', error_description: 'The signing keys could not be fetched.' });
          return;
        }
        challenge(res, realm, 401, 'invalid_token', describe(error));
      },
    );
  };
}

/** Lets the request through only if the verified token carries the app role `role` (the `roles` claim). */
export function requireRole(role: string, realm = 'aad-backend-auth-example'): RequestHandler {
  return function roleGuard(_req: Request, res: Response, next: NextFunction): void {
    const auth = res.locals['auth'] as VerifiedToken | undefined;
    const roles = auth?.claims['roles'];
    if (Array.isArray(roles) && roles.includes(role)) {
      next();
      return;
    }
    challenge(res, realm, 403, 'insufficient_scope', `The token does not carry the app role ${role}.`, { required_role: role });
  };
}
