import type { IncomingHttpHeaders } from 'node:http';

/**
 * An app registration the emulator knows: a client id and its secret.
 */
export interface EmulatorClient {
  /** The application (client) id the caller sends as `client_id`. */
  clientId: string;
  /**
   * The secret the caller must send as `client_secret` or in a `client_secret_basic`
   * header. Optional when `certificate` is set. Change it with {@link EntraEmulator.rotateClientSecret}.
   */
  clientSecret?: string;
  /**
   * A PEM certificate registered for private_key_jwt: `client_assertion`s must be signed
   * by its key, name it in `x5t#S256` (or `x5t`), have `iss` = `sub` = the client id,
   * `aud` = the token endpoint, `exp` at most 10 minutes ahead and a `jti`. As in Entra,
   * an assertion may be used again until its `exp` (MSAL reuses one for about 10 minutes).
   * Failures get AADSTS700027. Tokens for a certificate client carry `appidacr`/`azpacr` `"2"`.
   * @default undefined (secrets only)
   */
  certificate?: string;
  /**
   * The tenant (GUID or verified domain, one of `tenants`) the app lives in.
   * A request to any other tenant gets AADSTS700016.
   *
   * @default any registered tenant
   */
  tenantId?: string;
  /**
   * The redirect URIs registered for the authorization endpoint. A
   * `redirect_uri` not in the list gets AADSTS50011 (not redirected).
   * @default undefined (any loopback `http:`/`https:` URL is accepted)
   */
  redirectUris?: string[];
  /**
   * The `accessTokenAcceptedVersion` of the API this app exposes as `api://<clientId>`
   * (its appId is the client id): the version of user tokens minted for it by
   * {@link EntraEmulator.issueUserToken}, and of tokens requested for it while
   * `resources` is not set. A `resources` entry for the same API takes precedence.
   *
   * `aadOnBehalfOf` pointed at the emulator accepts only the issuer of the v2
   * discovery document, so a BFF tested with it needs `2` here.
   *
   * @default 1 (Entra's default); 2 for the built-in registration used when `clients` is not given
   */
  accessTokenVersion?: 1 | 2;
}

/** A test user the authorization endpoint signs in without a page. */
export interface EmulatorUser {
  /** The sign-in name (`login_hint`, `preferred_username`, `upn`). @example 'alice@contoso.example' */
  username: string;
  /** The display name (`name`). @default the part of `username` before `@` */
  name?: string;
  /** The object id (`oid`). @default a stable GUID derived from the tenant and `name`, as `issueUserToken` derives it */
  oid?: string;
}

/** Counters of the refresh-token grant, from {@link EntraEmulator.refreshTokenStats}. */
export interface RefreshTokenStats {
  /** Refresh tokens handed out (sign-ins with `offline_access`, OBO, and every rotation). */
  issued: number;
  /** Successful `refresh_token` redemptions. */
  redeemed: number;
  /** Refused redemptions (unknown, expired, revoked, reused, another client's). */
  refused: number;
  /** Redemptions of an already-rotated token while `refreshTokenReuseDetection` is on. */
  reuseDetected: number;
  /** Token families revoked, by reuse detection or {@link EntraEmulator.revokeRefreshTokens}. */
  familiesRevoked: number;
}

/**
 * A protected API (resource) the emulator issues tokens for.
 */
export interface EmulatorResource {
  /**
   * The resource identifier (App ID URI): the scope without `/.default` (v2
   * endpoint), or the `resource` form field (v1 endpoint). It is the `aud`
   * claim of v1 tokens asked for by this name.
   * @example 'api://orders'
   */
  audience: string;
  /**
   * The API's application (client) id, a GUID: the `aud` claim of its v2
   * tokens. The API may also be asked for by it (`<appId>/.default`).
   * @default the GUID of an `api://<GUID>` audience, otherwise a GUID derived from `audience` (stable across runs)
   */
  appId?: string;
  /**
   * The version of access tokens Entra issues for this API, as the API's
   * manifest sets it (`accessTokenAcceptedVersion`): 1 gives issuer
   * `https://sts.windows.net/{tid}/`, `aud` as asked for, `appid`/`appidacr`,
   * `ver` "1.0"; 2 gives issuer `{authority}/{tid}/v2.0`, `aud` = `appId`,
   * `azp`/`azpacr`, `ver` "2.0". The endpoint (v1 or v2) does not matter.
   * @default 1 (Entra's default: the manifest value null)
   */
  accessTokenVersion?: 1 | 2;
  /**
   * Add the optional `idtyp` claim (`"app"` or `"user"`), as an API that
   * configured it in its optional claims gets.
   * @default false
   */
  idtyp?: boolean;
  /**
   * The app roles granted to each client, keyed by client id. They become
   * the `roles` claim of that client's tokens for this audience.
   *
   * @default {} (no roles)
   */
  appRoles?: Record<string, string[]>;
}

/**
 * Options of {@link startEntraEmulator}. Every option is optional.
 */
export interface EntraEmulatorOptions {
  /**
   * The TCP port to listen on.
   * @default 0 (a free port chosen by the OS)
   */
  port?: number;
  /**
   * The address to listen on. Only loopback addresses are accepted
   * (`127.0.0.0/8`, `::1`, `localhost`): the emulator hands out tokens to
   * anyone who asks and must never be reachable from the network.
   * @default '127.0.0.1'
   */
  host?: string;
  /**
   * Serve HTTPS with a self-signed certificate for `127.0.0.1`, `::1` and
   * `localhost`, made at start. The certificate is exposed as
   * {@link EntraEmulator.ca}. Needed by `@azure/identity`, which refuses
   * `http:` authority hosts. Requires the optional peer dependency
   * `selfsigned`.
   * @default false
   */
  https?: boolean;
  /**
   * Lifetime of issued tokens, in seconds (`expires_in`, and `exp - iat`).
   * @default 3599
   */
  tokenLifetimeSeconds?: number;
  /**
   * When set, v2 answers carry `refresh_in` with this many seconds.
   * @default undefined (no `refresh_in`)
   */
  refreshInSeconds?: number;
  /**
   * Delay every answer of a token endpoint by this many milliseconds.
   * @default 0
   */
  latencyMs?: number;
  /**
   * The tenants that exist, as GUIDs or verified domains (such as
   * `contoso.onmicrosoft.com`). A domain gets its own tenant id, a GUID
   * derived from the domain name (stable across runs). The first entry is
   * the default tenant of {@link EntraEmulator.tokenUrl}.
   * @default [DEFAULT_TENANT_ID]
   */
  tenants?: string[];
  /**
   * The registered apps.
   * @default [{ clientId: DEFAULT_CLIENT_ID, clientSecret: DEFAULT_CLIENT_SECRET }]
   */
  clients?: EmulatorClient[];
  /**
   * The APIs that tokens can be requested for, with their app roles and
   * token version. When set, a request for any other audience gets
   * AADSTS500011 (`invalid_resource`).
   * @default undefined (any audience is accepted, as a v1 API, and tokens carry no roles)
   */
  resources?: EmulatorResource[];
  /**
   * The host of the v1 issuer, `https://{v1IssuerHost}/{tid}/`: the `iss` of
   * v1 tokens and the issuer of the v1 discovery document. Change it to
   * test sovereign clouds (e.g. `sts.chinacloudapi.cn`).
   * @default 'sts.windows.net'
   */
  v1IssuerHost?: string;
  /**
   * The test users the authorization endpoint (`/{tenant}/oauth2/v2.0/authorize`)
   * signs in without a page: the one `login_hint` names (by username or oid),
   * or the first one when no hint is given.
   * @default [{ username: 'test.user@contoso.example', name: 'Test User' }]
   */
  users?: EmulatorUser[];
  /**
   * How long a refresh token can be redeemed, in seconds; later redemptions get
   * `invalid_grant` AADSTS700082.
   * @default 7776000 (90 days, Entra's inactivity limit)
   */
  refreshTokenLifetimeSeconds?: number;
  /**
   * Every `refresh_token` redemption returns a new refresh token (rotation).
   * With reuse detection on, redeeming an already-rotated token again revokes
   * its whole family (every token of that sign-in) and answers `invalid_grant`
   * AADSTS70000, as Auth0, Okta and Keycloak do. Entra keeps old refresh
   * tokens valid, hence the default.
   * @default false
   */
  refreshTokenReuseDetection?: boolean;
}

/** A request the emulator received. */
export interface RecordedRequest {
  /** The HTTP method, e.g. `'POST'`. */
  method: string;
  /** The path, without the query string. */
  path: string;
  /** The query string parameters (the last value wins on repeats). */
  query: Record<string, string>;
  /** The request headers as Node parsed them. */
  headers: IncomingHttpHeaders;
  /**
   * The url-encoded form body, raw (`client_secret` included, so that tests
   * can check what was sent). Empty for other content types.
   */
  form: Record<string, string>;
  /** When the request arrived (`Date.now()`). */
  receivedAt: number;
  /** The fault applied to this request, if one was queued with `fail()`. */
  fault?: Fault;
}

/** An access token the emulator issued. */
export interface IssuedToken {
  /** The compact JWT. */
  token: string;
  clientId: string;
  /** The tenant id (a GUID, the `tid` claim). */
  tenantId: string;
  /** The `aud` claim. */
  audience: string;
  /** The token's version (`ver` "1.0" or "2.0"), decided by the API it is for. */
  version: 1 | 2;
  /** The `scope` form field (v2 requests). */
  scope?: string;
  /** The `resource` form field (v1 requests). */
  resource?: string;
  /** The `roles` claim (empty when the client has no app roles). */
  roles: string[];
  /** The `claims` form field the token was requested with (CAE capabilities, a claims challenge), if any. */
  claims?: string;
  /** Epoch milliseconds. */
  issuedAt: number;
  /** Epoch milliseconds. */
  expiresAt: number;
  /** Delegated tokens: the grant that issued it. */
  grant?: 'on-behalf-of' | 'token-exchange' | 'authorization-code' | 'refresh-token';
  /** Delegated tokens: the user's object id. */
  oid?: string;
  /** Delegated tokens: the `scp` claim. */
  scp?: string;
}

/** What {@link EntraEmulator.issueUserToken} puts in a user token (the token a SPA sends to the BFF). */
export interface UserTokenInput {
  /** The user's object id. @default a stable GUID derived from `name` */
  oid?: string;
  /** @default 'Test User' */
  name?: string;
  /** @default derived from `name`, e.g. `test.user@contoso.example` */
  preferredUsername?: string;
  /** The delegated scopes the SPA got for the BFF. @default 'access_as_user' */
  scp?: string;
  /**
   * The API the token is for, by App ID URI or appId. Its version decides the
   * shape: a registered resource's `accessTokenVersion`, a registered client's
   * own `accessTokenVersion` for `api://<clientId>`, otherwise 1. In v2 tokens
   * `aud` becomes the API's appId.
   * @default `api://<first registered client id>`
   */
  aud?: string | string[];
  /** Seconds until `exp`; negative for an expired token. @default 3600 */
  expiresIn?: number;
  /** Seconds until `nbf`; positive for a token not yet valid. @default 0 */
  notBeforeIn?: number;
  /** The SPA's client id (`appid` in v1 tokens, `azp` in v2). @default a stable made-up GUID */
  azp?: string;
  /** The tenant (GUID or domain) whose issuer signs it. @default the first tenant */
  tenant?: string;
}

/** The OAuth error codes the `oauth-error` fault can answer with. */
export type OAuthErrorCode =
  | 'invalid_client'
  | 'invalid_scope'
  | 'unauthorized_client'
  | 'invalid_request'
  | 'invalid_grant';

/**
 * A way for the token endpoint to misbehave, applied to one token request.
 * Queue faults with {@link EntraEmulator.fail}.
 */
export type Fault =
  /** Wait `ms`, then answer normally. */
  | { kind: 'latency'; ms: number }
  /**
   * Answer `status` with `body` (default: an AADSTS error body, `server_error`
   * AADSTS50000, with `error_codes`, `trace_id`, `timestamp` and the caller's
   * correlation id) and extra `headers`.
   */
  | { kind: 'status'; status: number; body?: string; headers?: Record<string, string> }
  /**
   * Answer 429 (or 503) with an AADSTS throttling body. `Retry-After` is
   * seconds for a number, an HTTP-date for a Date, verbatim for a string, and
   * absent when `retryAfter` is not given.
   */
  | { kind: 'throttle'; retryAfter?: number | Date | string; status?: 429 | 503 }
  /**
   * Answer a realistic AADSTS error body. Status: 401 for `invalid_client`,
   * 400 otherwise.
   */
  | { kind: 'oauth-error'; error: OAuthErrorCode; status?: 400 | 401 }
  /** Answer 200 with a text/html captive-portal page. */
  | { kind: 'html' }
  /**
   * Answer `status` (default 200) with `body` (an object is JSON-encoded)
   * and `contentType` (default `application/json; charset=utf-8`).
   */
  | { kind: 'body'; body: string | object; status?: number; contentType?: string }
  /** Never answer; the socket stays open until the client gives up or `close()`. */
  | { kind: 'hang' }
  /** Destroy the connection before sending anything. */
  | { kind: 'reset' }
  /** Send 200 headers (with the full Content-Length) and half of a token body, then destroy. */
  | { kind: 'reset-mid-body' }
  /**
   * Send 200 headers, then a token body one byte every `intervalMs`
   * (default 200). The body completes only if the client waits long enough.
   */
  | { kind: 'drip'; intervalMs?: number }
  /** Answer 200 with a valid JSON token body of about `bytes` (default 5 MiB). */
  | { kind: 'huge'; bytes?: number }
  /** Redirect to `location` with `status` (default 302). */
  | { kind: 'redirect'; location: string; status?: 301 | 302 | 307 | 308 }
  /** Answer normally, but gzip the body and send `Content-Encoding: gzip`. */
  | { kind: 'gzip' }
  /**
   * Answer as Entra does when Conditional Access needs MFA: 400 `invalid_grant` with
   * AADSTS`code` (default 50076) and a `claims` challenge (default: a `capolids` challenge;
   * `null` for none). Delegated requests only (on-behalf-of, token exchange): a
   * client-credentials request passes it by, as Entra never asks an app for MFA.
   */
  | { kind: 'interaction-required'; code?: 50076 | 50079 | 50158; claims?: string | object | null }
  /**
   * Answer 400 `invalid_grant` AADSTS65001 (`suberror: consent_required`).
   * Delegated requests only, like `interaction-required`.
   */
  | { kind: 'consent-required' };

/** The kinds of {@link Fault}. */
export type FaultKind = Fault['kind'];

/** A running emulator, as returned by {@link startEntraEmulator}. */
export interface EntraEmulator {
  /**
   * The authority host, such as `http://127.0.0.1:43123` (no trailing
   * slash). Pass it as `authorityHost`.
   */
  readonly url: string;
  /**
   * The authority hosts as MSAL's `knownAuthorities` wants them: `['127.0.0.1:43123']`.
   */
  readonly knownAuthorities: string[];
  /** The PEM certificate to trust when `https` is on, otherwise `undefined`. */
  readonly ca: string | undefined;
  /**
   * The token endpoint of a tenant.
   * @param tenant - a registered tenant GUID or domain (default: the first one)
   * @param version - `'v2'` (default) or `'v1'`
   */
  tokenUrl(tenant?: string, version?: 'v2' | 'v1'): string;
  /**
   * The `iss` of a tenant's tokens of one version: v2 `${url}/${tenantGuid}/v2.0`
   * (what the v2 discovery document names), v1 `https://${v1IssuerHost}/${tenantGuid}/`.
   * @param tenant - a registered tenant GUID or domain (default: the first one)
   * @param version - 2 (default) or 1; the API's `accessTokenVersion` decides which its tokens carry
   */
  issuer(tenant?: string, version?: 1 | 2): string;
  /**
   * What a resource server must check to accept this emulator's tokens for
   * one API, as Entra would issue them: the issuer and `aud` for the API's
   * version, and the JWKS.
   * @param api - the API's App ID URI or appId, as callers ask for it
   * @param tenant - a registered tenant GUID or domain (default: the first one)
   */
  tokenValidation(api: string, tenant?: string): { issuer: string; audience: string; jwksUri: string; version: 1 | 2 };
  /** The JWKS holding the public key that signs every token. */
  readonly jwksUri: string;
  /** Every request received, in order (a copy). */
  readonly requests: RecordedRequest[];
  /** Only the POSTs to a token endpoint, faulted or failed ones included (a copy). */
  readonly tokenRequests: RecordedRequest[];
  /** Every access token successfully issued (a copy). */
  readonly issued: IssuedToken[];
  /** Mint a user token signed by this emulator, as a SPA would get it for the BFF. */
  issueUserToken(input?: UserTokenInput): Promise<string>;
  /** The record of `token` if this emulator issued it (expired or not). */
  isIssued(token: string): IssuedToken | undefined;
  /**
   * Apply `fault` to the next `times` token requests (default 1; `Infinity`
   * until {@link heal}). Faults queue first in, first out; a client-credentials
   * request skips the delegated-only faults (`interaction-required`,
   * `consent-required`) and takes the first other one. Error bodies echo the
   * request's `client-request-id` (header, query or form) as `correlation_id`.
   */
  fail(fault: Fault, times?: number): void;
  /**
   * Accept `secret` from now on, and no longer the client's old one (which gets
   * AADSTS7000215), as after a secret rotation.
   */
  rotateClientSecret(clientId: string, secret: string): void;
  /** Drop every queued fault. */
  heal(): void;
  /**
   * Revoke refresh tokens, as an administrator's "revoke sessions" does: every
   * token of a user (by `oid` or username), or the family of one refresh token
   * (pass the token). Later redemptions get `invalid_grant` AADSTS50173.
   * @returns how many refresh tokens were still redeemable
   */
  revokeRefreshTokens(userOrRefreshToken: string): number;
  /** Counters of the refresh-token grant (a copy). */
  readonly refreshTokenStats: RefreshTokenStats;
  /** `heal()`, then forget the recorded requests, issued tokens, codes, refresh tokens and their counters. */
  reset(): void;
  /** Stop listening and destroy every open connection, hung ones included. */
  close(): Promise<void>;
}
