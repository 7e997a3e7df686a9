import { randomBytes } from 'node:crypto';
import type { ApiRegistration } from './resources.js';
import { stableGuid } from './tokens.js';

/** How the client authenticated: Entra's `appidacr`/`azpacr` ("0" public, "1" secret, "2" certificate or assertion). */
export type ClientAuthClass = '0' | '1' | '2';

/** The two issuers of a tenant, as Entra names them. */
export interface Issuers {
  /** `https://sts.windows.net/{tid}/` (or the `v1IssuerHost` given). */
  v1(tenantId: string): string;
  /** `{authority}/{tid}/v2.0`. */
  v2(tenantId: string): string;
}

/** What every access token needs, whoever it is for. */
export interface AccessTokenBase {
  readonly api: ApiRegistration;
  /** The identifier the caller asked for (App ID URI or appId): `aud` of v1 tokens. */
  readonly requested: string;
  readonly tenantId: string;
  /** The client the token is issued to (`appid` in v1, `azp` in v2). */
  readonly clientId: string;
  readonly clientAuth: ClientAuthClass;
  /** Epoch seconds. */
  readonly iat: number;
  readonly nbf?: number;
  /** Epoch seconds. */
  readonly exp: number;
  readonly issuers: Issuers;
}

/** The user a delegated token or ID token speaks for. */
export interface TokenUser {
  readonly oid: string;
  readonly name: string;
  readonly username: string;
}

const opaque = (bytes: number): string => randomBytes(bytes).toString('base64url');

/** The `aud` of a token for `api`: v1 keeps what was asked for, v2 names the appId. */
export function audienceOf(base: Pick<AccessTokenBase, 'api' | 'requested'>): string {
  return base.api.version === 1 ? base.requested : base.api.appId;
}

function common(base: AccessTokenBase): Record<string, unknown> {
  const { api, tenantId, issuers } = base;
  return {
    aud: audienceOf(base),
    iss: api.version === 1 ? issuers.v1(tenantId) : issuers.v2(tenantId),
    iat: base.iat,
    nbf: base.nbf ?? base.iat,
    exp: base.exp,
  };
}

/** The client pair: `appid`/`appidacr` in v1, `azp`/`azpacr` in v2, never both. */
function clientClaims(base: AccessTokenBase): Record<string, unknown> {
  return base.api.version === 1 ? { appid: base.clientId, appidacr: base.clientAuth } : { azp: base.clientId, azpacr: base.clientAuth };
}

/** An app-only token (client credentials), as Entra issues it for the API's version. */
export function appTokenClaims(base: AccessTokenBase, roles: readonly string[]): Record<string, unknown> {
  const { api, tenantId, clientId } = base;
  // The service principal's object id: stable per client and tenant.
  const oid = stableGuid(`sp:${tenantId}:${clientId}`);
  return {
    ...common(base),
    aio: opaque(24),
    ...clientClaims(base),
    idp: base.issuers.v1(tenantId),
    ...(api.idtyp && { idtyp: 'app' }),
    oid,
    rh: `0.${opaque(12)}.`,
    ...(roles.length > 0 && { roles: [...roles] }),
    sub: oid,
    tid: tenantId,
    uti: opaque(16),
    ver: api.version === 1 ? '1.0' : '2.0',
  };
}

/** A delegated (user) token: `scp`, `name`, `oid`, and `upn`/`unique_name` (v1) or `preferred_username` (v2). */
export function userTokenClaims(base: AccessTokenBase, user: TokenUser, scp: string): Record<string, unknown> {
  const { api, tenantId } = base;
  const v1 = api.version === 1;
  return {
    ...common(base),
    ...(v1 && { acr: '1' }),
    aio: opaque(24),
    ...(v1 && { amr: ['pwd'] }),
    ...clientClaims(base),
    ...(api.idtyp && { idtyp: 'user' }),
    name: user.name,
    oid: user.oid,
    ...(!v1 && { preferred_username: user.username }),
    rh: `0.${opaque(12)}.`,
    scp,
    // Pairwise: the same user has another `sub` for each API.
    sub: stableGuid(`sub:${user.oid}:${api.appId}`),
    tid: tenantId,
    ...(v1 && { unique_name: user.username, upn: user.username }),
    uti: opaque(16),
    ver: v1 ? '1.0' : '2.0',
  };
}

/** A v2 ID token for `clientId` (what MSAL reads the account from). */
export function idTokenClaims(clientId: string, tenantId: string, user: TokenUser, issuers: Issuers, iat: number, exp: number): Record<string, unknown> {
  return {
    aud: clientId,
    iss: issuers.v2(tenantId),
    iat,
    nbf: iat,
    exp,
    aio: opaque(24),
    name: user.name,
    oid: user.oid,
    preferred_username: user.username,
    rh: `0.${opaque(12)}.`,
    sub: stableGuid(`sub:${user.oid}:${clientId}`),
    tid: tenantId,
    uti: opaque(16),
    ver: '2.0',
  };
}

/** Entra's `client_info`: base64url of `{ uid, utid }`, from which MSAL builds the home account id. */
export function clientInfo(oid: string, tenantId: string): string {
  return Buffer.from(JSON.stringify({ uid: oid, utid: tenantId })).toString('base64url');
}
