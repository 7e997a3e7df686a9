import { audienceOf, clientInfo, idTokenClaims, userTokenClaims, type ClientAuthClass, type Issuers, type TokenUser } from './claims.js';
import { entraErrors, type AadstsError } from './errors.js';
import type { ResolvedOptions } from './options.js';
import type { ApiRegistration } from './resources.js';
import type { TokenSigner } from './tokens.js';
import type { IssuedToken } from './types.js';

/** Scopes a delegated request may add that name no resource. */
export const OIDC_SCOPES: ReadonlySet<string> = new Set(['openid', 'profile', 'email', 'offline_access']);

/** Microsoft Graph: what a sign-in that asks for OIDC scopes only gets an access token for, as in Entra. */
const GRAPH: ApiRegistration = { audience: 'https://graph.microsoft.com', appId: '00000003-0000-0000-c000-000000000000', version: 1, idtyp: false, appRoles: {} };

/** The one API a delegated scope names, and the permissions asked of it. */
export interface DelegatedScope {
  readonly api: ApiRegistration;
  /** The resource as the caller named it (`api://orders`, or the appId). */
  readonly requested: string;
  /** The `scp` claim: the permissions, or `user_impersonation` for `/.default`. */
  readonly scp: string;
  /** The resource scopes as asked, without the OIDC ones (the answer's `scope`). */
  readonly resourceScopes: readonly string[];
  /** The OIDC scopes asked for (`openid`, `offline_access`, ...). */
  readonly oidc: ReadonlySet<string>;
}

/**
 * Reads a delegated `scope`: every non-OIDC scope must name the same resource
 * (`api://orders/Orders.Read` is resource `api://orders`, permission `Orders.Read`);
 * two resources get AADSTS28000, as in Entra.
 */
export function parseDelegatedScope(scope: string, options: ResolvedOptions, tenantName: string, oidcOnly: 'graph' | 'refuse' = 'refuse'): DelegatedScope | { readonly error: AadstsError } {
  const all = scope.trim().split(/\s+/).filter((s) => s !== '');
  const resourceScopes = all.filter((s) => !OIDC_SCOPES.has(s));
  const oidc = new Set(all.filter((s) => OIDC_SCOPES.has(s)));
  if (resourceScopes.length === 0 && oidcOnly === 'graph' && oidc.size > 0) {
    return { api: GRAPH, requested: GRAPH.audience, scp: [...oidc].filter((s) => s !== 'offline_access').concat('User.Read').join(' '), resourceScopes: ['User.Read'], oidc };
  }
  if (resourceScopes.length === 0 || resourceScopes.some((s) => s.lastIndexOf('/') <= 0 || s.endsWith('/'))) {
    return { error: entraErrors.invalidScope(scope) };
  }
  const resources = new Set(resourceScopes.map((s) => s.slice(0, s.lastIndexOf('/'))));
  if (resources.size !== 1) return { error: entraErrors.tooManyResources(scope) };
  const requested = [...resources][0]!;
  const api = options.apis.find(requested);
  if (api === undefined) return { error: entraErrors.resourceNotFound(requested, tenantName) };
  const permissions = resourceScopes.map((s) => s.slice(s.lastIndexOf('/') + 1)).filter((p) => p !== '.default');
  return { api, requested, scp: permissions.length > 0 ? permissions.join(' ') : 'user_impersonation', resourceScopes, oidc };
}

/** What every delegated answer needs from the emulator. */
export interface DelegatedContext {
  readonly signer: TokenSigner;
  readonly options: ResolvedOptions;
  readonly issuers: Issuers;
  /** Makes a refresh token for the user, client and scope (asked with `offline_access`). */
  readonly issueRefreshToken: (grant: RefreshGrant) => string;
}

/** What a refresh token stands for. */
export interface RefreshGrant {
  readonly clientId: string;
  readonly tenantId: string;
  readonly user: TokenUser;
  /** The scope as asked, OIDC scopes included. */
  readonly scope: string;
  /** The refresh tokens of one sign-in share a family; rotations stay in it. */
  readonly family?: string;
}

/** A delegated token issued: its record and Entra's JSON answer. */
export interface DelegatedOutcomeOk {
  readonly record: IssuedToken;
  readonly answer: Record<string, unknown>;
}

/** One delegated token request, after the client and the user are known. */
export interface DelegatedGrant {
  readonly tenantId: string;
  readonly clientId: string;
  readonly clientAuth: ClientAuthClass;
  readonly user: TokenUser;
  readonly scope: DelegatedScope;
  /** The raw `scope` (kept in the refresh token). */
  readonly rawScope: string;
  readonly grant: NonNullable<IssuedToken['grant']>;
  /** Send `client_info` (the request had `client_info=1`). */
  readonly clientInfo: boolean;
  /** Send an ID token (`openid` was asked at sign-in or now), with this `nonce` if any. */
  readonly idToken: boolean;
  readonly nonce?: string | undefined;
  /** Send a refresh token standing for `scope` (`offline_access` was asked), in `family` when rotating. */
  readonly refresh?: { readonly scope: string; readonly family?: string } | undefined;
}

/**
 * Entra's answer to a delegated grant: the access token for the scope's API (its
 * version from the API), plus an `id_token`, a `refresh_token` and `client_info` when asked.
 */
export async function delegatedAnswer(ctx: DelegatedContext, grant: DelegatedGrant): Promise<DelegatedOutcomeOk> {
  const { signer, options, issuers } = ctx;
  const { tenantId, clientId, user, scope } = grant;
  const lifetime = options.tokenLifetimeSeconds;
  const issuedAt = Date.now();
  const expiresAt = issuedAt + lifetime * 1000;
  const iat = Math.floor(issuedAt / 1000);
  const exp = Math.floor(expiresAt / 1000);
  const base = { api: scope.api, requested: scope.requested, tenantId, clientId, clientAuth: grant.clientAuth, iat, exp, issuers };
  const token = await signer.signClaims(userTokenClaims(base, user, scope.scp));
  const record: IssuedToken = {
    token,
    clientId,
    tenantId,
    audience: audienceOf(base),
    version: scope.api.version,
    roles: [],
    issuedAt,
    expiresAt,
    scope: grant.rawScope,
    oid: user.oid,
    scp: scope.scp,
    grant: grant.grant,
  };
  const answer: Record<string, unknown> = {
    token_type: 'Bearer',
    scope: scope.resourceScopes.join(' '),
    expires_in: lifetime,
    ext_expires_in: lifetime,
    access_token: token,
  };
  if (grant.refresh !== undefined) {
    const { scope: consented, family } = grant.refresh;
    answer['refresh_token'] = ctx.issueRefreshToken({ clientId, tenantId, user, scope: consented, ...(family !== undefined && { family }) });
  }
  if (grant.idToken) {
    const claims = idTokenClaims(clientId, tenantId, user, issuers, iat, exp);
    if (grant.nonce !== undefined) claims['nonce'] = grant.nonce;
    answer['id_token'] = await signer.signClaims(claims);
  }
  if (grant.clientInfo) answer['client_info'] = clientInfo(user.oid, tenantId);
  return { record, answer };
}
