import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ClientCredentialOptions } from './types.js';
import type { AadBackendAuthLogger, TokenCache, TokenProvider } from '../core/types.js';
import type { ErrorHandler } from './types.js';

/** Options of {@link aadOnBehalfOf}: the same names as `aadBackendAuth` where they mean the same thing. */
export interface AadOnBehalfOfOptions<Req extends IncomingMessage = IncomingMessage, Res extends ServerResponse = ServerResponse>
  extends ClientCredentialOptions {
  /**
   * Directory (tenant) id: a GUID or a verified domain. Required for `grant: 'on-behalf-of'`;
   * refused with `grant: 'token-exchange'`. `common`, `organizations` and `consumers` are refused.
   * @default undefined
   */
  tenantId?: string | undefined;
  /** The BFF's application (client) id: the audience of the user tokens it accepts. Required. @default undefined */
  clientId?: string | undefined;
  /**
   * The Entra authority, e.g. `https://login.microsoftonline.us`; https except on loopback.
   * Refused with `grant: 'token-exchange'`.
   * @default 'https://login.microsoftonline.com'
   */
  authorityHost?: string | undefined;
  /**
   * The delegated scope or scopes to ask for, e.g. `api://orders/Orders.Read` (`.default` allowed).
   * Sent exactly as given, nothing added. Required.
   * @default undefined
   */
  scope?: string | readonly string[] | undefined;
  /**
   * Where the user's token comes from. A BFF with cookie sessions returns it from the session.
   * @default the inbound `Authorization: Bearer` header
   */
  userToken?: ((req: Req) => string | undefined) | undefined;
  /**
   * The accepted `aud` of the user's token.
   * @default [clientId, `api://${clientId}`]
   */
  userTokenAudience?: string | readonly string[] | undefined;
  /**
   * How many user tokens (and their exchanged tokens) are held; the least recently used is
   * dropped beyond it. `tokenProvider.stats().keys` counts the live ones.
   * @default 10000
   */
  maxUsers?: number | undefined;
  /**
   * `on-behalf-of` (Entra, the jwt-bearer grant) or `token-exchange` (RFC 8693, Keycloak and
   * others, with `tokenUrl` and `issuer` in place of `tenantId` and `authorityHost`).
   *
   * The grant also says which user tokens are accepted; any other answers `401 ERR_USER_TOKEN_INVALID`
   * before discovery, keys or a token request:
   * - `on-behalf-of`: delegated access tokens only, those with a non-empty `scp`. App-only tokens
   *   (`roles` and no `scp`, or `idtyp: "app"`) and ID tokens are refused.
   * - `token-exchange`: anything but an evident ID token: one with a `nonce` claim, or Keycloak's
   *   `typ: "ID"` claim, is refused. No `scp` is required (Keycloak puts scopes in `scope`).
   * @default 'on-behalf-of'
   */
  grant?: 'on-behalf-of' | 'token-exchange' | undefined;
  /** `token-exchange` only, and required there: the token endpoint; https except on loopback. @default undefined */
  tokenUrl?: string | undefined;
  /**
   * `token-exchange` only, and required there: the issuer of user tokens; keys come from
   * `{issuer}/.well-known/openid-configuration`.
   * @default undefined
   */
  issuer?: string | undefined;
  /**
   * An optional second tier for exchanged tokens (a `RedisTokenCache`, say), keyed per user
   * token by its SHA-256. There is no shared default: without it only the in-process LRU
   * (`maxUsers`) holds anything user-specific.
   * @default undefined
   */
  cache?: TokenCache | undefined;
  /** The request header that carries the exchanged token. @default 'authorization' */
  header?: string | undefined;
  /** Inbound headers to delete before forwarding, e.g. `['cookie']`. The inbound `authorization` always goes. @default [] */
  removeHeaders?: readonly string[] | undefined;
  /**
   * The longest a request waits for discovery, keys or an exchange, retries included. Validating
   * a user token (discovery and JWKS reads together) is held to it by an absolute deadline, however
   * slowly an IdP trickles its answer; past it the request is answered `503 ERR_IDP_UNAVAILABLE`.
   * @default 10000
   */
  timeoutMs?: number | undefined;
  /** Where log lines go; never tokens or secrets. @default the `debug` module, namespace `aad-backend-auth` */
  logger?: AadBackendAuthLogger | undefined;
  /**
   * Anti-forgery: each request must carry this header with this value, or gets
   * `403 ERR_ANTIFORGERY` before the user token is read; safe methods are not exempt.
   * `true` means `{ header: 'x-csrf', value: '1' }`. With `userToken` the user comes from a
   * cookie session, which a cross-site form or image sends too: then it is on by default.
   * WebSocket upgrades must come from an `allowedOrigins` origin instead.
   * @default true with `userToken`, false for the `Authorization: Bearer` header
   */
  antiForgery?: boolean | { header?: string | undefined; value?: string | undefined } | undefined;
  /**
   * With `antiForgery` on, the `Origin`s a WebSocket upgrade may come from, such as
   * `['https://app.example.com']`; required to pass the middleware to `withBackendToken`.
   * @default undefined
   */
  allowedOrigins?: string | readonly string[] | undefined;
  /** Replaces the default `application/problem+json` answer. @default undefined */
  onError?: ErrorHandler<Req, Res> | undefined;
}

/** The function `aadOnBehalfOf` returns. `tokenProvider.getToken(req)` resolves that request's user's exchanged token. */
export interface AadOnBehalfOfMiddleware<Req extends IncomingMessage = IncomingMessage, Res extends ServerResponse = ServerResponse> {
  (req: Req, res: Res, next: (err?: unknown) => void): void;
  readonly tokenProvider: TokenProvider<Req>;
}
