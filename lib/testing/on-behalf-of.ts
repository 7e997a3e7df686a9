import { randomBytes, randomUUID } from 'node:crypto';
import { createLocalJWKSet, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import { aadstsError, entraErrors, type AadstsError } from './errors.js';
import type { ResolvedOptions } from './options.js';
import { stableGuid, type TokenSigner } from './tokens.js';
import type { IssuedToken, UserTokenInput } from './types.js';

export const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
export const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
/** Scopes a delegated request may add that name no resource. */
const OIDC_SCOPES = new Set(['openid', 'profile', 'email', 'offline_access']);

/** Whether `grantType` is one of the user-token grants this file answers. */
export function isDelegatedGrant(grantType: string): boolean {
  return grantType === JWT_BEARER || grantType === TOKEN_EXCHANGE;
}

/** Claims of a user token (what a SPA's token for the BFF carries). */
export async function mintUserToken(signer: TokenSigner, issuer: string, tenantId: string, defaultAudience: string, input: UserTokenInput = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const name = input.name ?? 'Test User';
  const oid = input.oid ?? stableGuid(`user:${tenantId}:${name}`);
  const claims: Record<string, unknown> = {
    aud: input.aud ?? defaultAudience,
    iss: issuer,
    iat: now,
    nbf: now + (input.notBeforeIn ?? 0),
    exp: now + (input.expiresIn ?? 3600),
    name,
    oid,
    preferred_username: input.preferredUsername ?? `${name.toLowerCase().replace(/[^a-z0-9]+/g, '.')}@contoso.example`,
    scp: input.scp ?? 'access_as_user',
    sub: stableGuid(`sub:${oid}`),
    tid: tenantId,
    azp: input.azp ?? stableGuid('spa'),
    idtyp: 'user',
    uti: randomBytes(16).toString('base64url'),
    ver: '2.0',
  };
  return signer.signClaims(claims);
}

export interface DelegatedRequest {
  readonly form: Record<string, string>;
  readonly tenantId: string;
  readonly tenantName: string;
  readonly clientId: string;
  /** The issuer of this tenant's tokens, `${url}/${tid}/v2.0`. */
  readonly issuer: string;
  readonly signer: TokenSigner;
  readonly options: ResolvedOptions;
}

export type DelegatedOutcome = { readonly error: AadstsError } | { readonly record: IssuedToken; readonly answer: Record<string, unknown> };

/**
 * The on-behalf-of grant (jwt-bearer) and RFC 8693 token exchange, after client
 * authentication: checks the user token's signature, issuer, expiry and audience
 * (it must be the calling client), then issues a delegated token with `scp`, `oid`,
 * `name` and `preferred_username`.
 */
export async function delegatedToken(request: DelegatedRequest): Promise<DelegatedOutcome> {
  const { form, clientId, issuer, signer, options } = request;
  const exchange = form['grant_type'] === TOKEN_EXCHANGE;
  let assertion: string | undefined;
  if (exchange) {
    assertion = form['subject_token'];
    if (!assertion) return { error: entraErrors.missingParameter('subject_token') };
    if (form['subject_token_type'] !== ACCESS_TOKEN_TYPE) return { error: entraErrors.missingParameter('subject_token_type') };
  } else {
    assertion = form['assertion'];
    if (!assertion) return { error: entraErrors.missingParameter('assertion') };
    if (form['requested_token_use'] !== 'on_behalf_of') return { error: entraErrors.missingParameter('requested_token_use') };
  }
  const scope = form['scope'];
  if (!scope) return { error: entraErrors.missingParameter('scope') };

  let user: JWTPayload;
  try {
    ({ payload: user } = await jwtVerify(assertion, createLocalJWKSet(signer.jwks), { issuer, algorithms: ['RS256'], requiredClaims: ['exp'] }));
  } catch (error) {
    if (error instanceof joseErrors.JWTExpired) return { error: invalidGrant(500133, 'Assertion is not within its valid time range.') };
    return { error: invalidGrant(50013, 'Assertion failed signature validation.') };
  }
  const audiences = typeof user.aud === 'string' ? [user.aud] : (user.aud ?? []);
  if (!audiences.some((aud) => aud === clientId || aud === `api://${clientId}`)) {
    return { error: invalidGrant(50013, 'Assertion audience does not match the Client app presenting the assertion.') };
  }

  // Every scope names one resource: `api://orders/Orders.Read` is resource `api://orders`, permission `Orders.Read`.
  const resourceScopes = scope.trim().split(/\s+/).filter((s) => !OIDC_SCOPES.has(s));
  const resources = new Set(resourceScopes.map((s) => s.slice(0, s.lastIndexOf('/'))));
  const [audience] = resources;
  if (resources.size !== 1 || audience === undefined || audience === '' || resourceScopes.some((s) => s.endsWith('/'))) {
    return { error: entraErrors.invalidScope(scope) };
  }
  if (options.resources !== undefined && !options.resources.has(audience)) return { error: entraErrors.resourceNotFound(audience, request.tenantName) };
  const permissions = resourceScopes.map((s) => s.slice(s.lastIndexOf('/') + 1)).filter((p) => p !== '.default');
  const scp = permissions.length > 0 ? permissions.join(' ') : 'user_impersonation';

  const lifetime = options.tokenLifetimeSeconds;
  const issuedAt = Date.now();
  const expiresAt = issuedAt + lifetime * 1000;
  const iat = Math.floor(issuedAt / 1000);
  const oid = typeof user.oid === 'string' ? user.oid : String(user.sub ?? '');
  const token = await signer.signClaims({
    aud: audience,
    iss: issuer,
    iat,
    nbf: iat,
    exp: Math.floor(expiresAt / 1000),
    azp: clientId,
    azpacr: '1',
    name: user.name,
    oid,
    preferred_username: user.preferred_username,
    scp,
    sub: stableGuid(`sub:${oid}:${clientId}`),
    tid: request.tenantId,
    idtyp: 'user',
    uti: randomBytes(16).toString('base64url'),
    ver: '2.0',
    jti: randomUUID(),
  });
  const record: IssuedToken = { token, clientId, tenantId: request.tenantId, audience, roles: [], issuedAt, expiresAt, scope, oid, scp, grant: exchange ? 'token-exchange' : 'on-behalf-of' };
  const answer: Record<string, unknown> = { token_type: 'Bearer', scope: resourceScopes.join(' '), expires_in: lifetime, ext_expires_in: lifetime, access_token: token };
  if (exchange) answer['issued_token_type'] = ACCESS_TOKEN_TYPE;
  return { record, answer };
}

function invalidGrant(code: number, message: string): AadstsError {
  return aadstsError(400, 'invalid_grant', code, message);
}

/** The default claims challenge of the `interaction-required` fault: a Conditional Access policy id. */
export const DEFAULT_CLAIMS_CHALLENGE = '{"access_token":{"capolids":{"essential":true,"values":["c1a2b3c4-0000-4000-8000-000000000001"]}}}';

/** Entra's answer when Conditional Access needs MFA or a fresh sign-in. */
export function interactionRequiredError(code: 50076 | 50079 | 50158, claims: string | undefined): AadstsError {
  const messages = {
    50076: 'Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access this resource.',
    50079: 'Due to a configuration change made by your administrator, or because you moved to a new location, you must enroll in multi-factor authentication to access this resource.',
    50158: 'External security challenge not satisfied. User will be redirected to another page or authentication provider to satisfy additional authentication challenges.',
  };
  const made = aadstsError(400, 'invalid_grant', code, messages[code]);
  return { status: made.status, body: { ...made.body, suberror: 'basic_action', ...(claims !== undefined && { claims }) } as AadstsError['body'] };
}

/** Entra's answer when the user has not consented to the downstream scopes. */
export function consentRequiredError(clientId: string): AadstsError {
  const made = aadstsError(
    400,
    'invalid_grant',
    65001,
    `The user or administrator has not consented to use the application with ID '${clientId}' named 'BFF'. Send an interactive authorization request for this user and resource.`,
  );
  return { status: made.status, body: { ...made.body, suberror: 'consent_required' } as AadstsError['body'] };
}
