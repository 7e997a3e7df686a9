import { createLocalJWKSet, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import { audienceOf, userTokenClaims, type ClientAuthClass, type Issuers, type TokenUser } from './claims.js';
import { delegatedAnswer, parseDelegatedScope, type DelegatedContext } from './delegated-answer.js';
import { aadstsError, entraErrors, type AadstsError } from './errors.js';
import type { ResolvedOptions } from './options.js';
import { stableGuid, type TokenSigner } from './tokens.js';
import type { IssuedToken, UserTokenInput } from './types.js';

export const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
export const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
/** The made-up SPA that user tokens are issued to by default. */
const DEFAULT_SPA = stableGuid('spa');

/** Whether `grantType` is one of the user-token grants this file answers. */
export function isDelegatedGrant(grantType: string): boolean {
  return grantType === JWT_BEARER || grantType === TOKEN_EXCHANGE;
}

/** The test user `input` describes, with Entra-like defaults. */
export function testUser(tenantId: string, input: Pick<UserTokenInput, 'oid' | 'name' | 'preferredUsername'> = {}): TokenUser {
  const name = input.name ?? 'Test User';
  return {
    oid: input.oid ?? stableGuid(`user:${tenantId}:${name}`),
    name,
    username: input.preferredUsername ?? `${name.toLowerCase().replace(/[^a-z0-9]+/g, '.')}@contoso.example`,
  };
}

/**
 * A user token as a SPA gets it for the BFF: a public client (`appidacr`/`azpacr` "0"),
 * shaped by the version of the API its `aud` names.
 */
export async function mintUserToken(signer: TokenSigner, options: ResolvedOptions, issuers: Issuers, tenantId: string, defaultAudience: string, input: UserTokenInput = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const asked = input.aud ?? defaultAudience;
  const audiences = Array.isArray(asked) ? asked : [asked];
  const api = options.apis.describe(audiences[0] ?? defaultAudience);
  const base = { api, requested: audiences[0] ?? defaultAudience, tenantId, clientId: input.azp ?? DEFAULT_SPA, clientAuth: '0' as const, iat: now, nbf: now + (input.notBeforeIn ?? 0), exp: now + (input.expiresIn ?? 3600), issuers };
  const claims = userTokenClaims(base, testUser(tenantId, input), input.scp ?? 'access_as_user');
  if (Array.isArray(asked)) claims['aud'] = audiences.map((aud) => audienceOf({ api: options.apis.describe(aud), requested: aud }));
  return signer.signClaims(claims);
}

export interface DelegatedRequest {
  readonly form: Record<string, string>;
  readonly tenantId: string;
  readonly tenantName: string;
  readonly clientId: string;
  readonly clientAuth: ClientAuthClass;
  readonly context: DelegatedContext;
}

export type DelegatedOutcome = { readonly error: AadstsError } | { readonly record: IssuedToken; readonly answer: Record<string, unknown> };

/**
 * The on-behalf-of grant (jwt-bearer) and RFC 8693 token exchange, after client
 * authentication: checks the user token's signature, issuer (the tenant's v1 or v2),
 * expiry and audience (it must be the calling client's API), then answers as Entra does.
 */
export async function delegatedToken(request: DelegatedRequest): Promise<DelegatedOutcome> {
  const { form, clientId, tenantId, context } = request;
  const { signer, options, issuers } = context;
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
  const rawScope = form['scope'];
  if (!rawScope) return { error: entraErrors.missingParameter('scope') };

  let user: JWTPayload;
  try {
    const issuer = [issuers.v1(tenantId), issuers.v2(tenantId)];
    ({ payload: user } = await jwtVerify(assertion, createLocalJWKSet(signer.jwks()), { issuer, algorithms: ['RS256'], requiredClaims: ['exp'] }));
  } catch (error) {
    if (error instanceof joseErrors.JWTExpired) return { error: invalidGrant(500133, 'Assertion is not within its valid time range.') };
    return { error: invalidGrant(50013, 'Assertion failed signature validation.') };
  }
  // The assertion must be for the calling app's API: by App ID URI (v1) or appId (v2).
  const audiences = typeof user.aud === 'string' ? [user.aud] : (user.aud ?? []);
  if (!audiences.some((aud) => options.apis.describe(aud).appId === clientId)) {
    return { error: invalidGrant(50013, 'Assertion audience does not match the Client app presenting the assertion.') };
  }
  const scope = parseDelegatedScope(rawScope, options, request.tenantName);
  if ('error' in scope) return scope;
  const oid = typeof user['oid'] === 'string' ? user['oid'] : String(user.sub ?? '');
  const username = [user['preferred_username'], user['upn'], user['unique_name']].find((v): v is string => typeof v === 'string') ?? '';
  const outcome = await delegatedAnswer(context, {
    tenantId,
    clientId,
    clientAuth: request.clientAuth,
    user: { oid, name: typeof user['name'] === 'string' ? user['name'] : '', username },
    scope,
    rawScope,
    grant: exchange ? 'token-exchange' : 'on-behalf-of',
    clientInfo: form['client_info'] === '1',
    idToken: scope.oidc.has('openid'),
    refresh: scope.oidc.has('offline_access') ? { scope: rawScope } : undefined,
  });
  if (exchange) outcome.answer['issued_token_type'] = ACCESS_TOKEN_TYPE;
  return outcome;
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
