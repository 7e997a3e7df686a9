import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AadBackendAuthLogger, TokenCache, TokenProvider } from '../core/types.js';
import type { AntiForgeryOption } from '../http/anti-forgery.js';
import type { UserTokenSession } from '../subjects/session/types.js';
import type { ClientCredentialOptions, ErrorHandler } from './types.js';

/** Options of {@link aadUserToken}: the endpoint and client options of `aadOnBehalfOf`, plus the session. */
export interface AadUserTokenOptions<Req extends IncomingMessage = IncomingMessage, Res extends ServerResponse = ServerResponse>
  extends ClientCredentialOptions {
  /** Reads and writes the signed-in user's tokens. Required. @default undefined */
  session?: UserTokenSession<Req> | undefined;
  /**
   * The scope to ask for with the `refresh_token` grant, sent exactly as given (Entra: any API
   * the user consented to). Without it the grant is sent without a scope and the session's own
   * access token is forwarded; it is forwarded, too, when `scope` equals `UserTokens.scope`.
   * @default undefined (the session's own access token)
   */
  scope?: string | readonly string[] | undefined;
  /**
   * Directory (tenant) id: a GUID, a verified domain, or `organizations`/`common` for a
   * multi-tenant app. Entra only: set this or `tokenUrl`.
   * @default undefined
   */
  tenantId?: string | undefined;
  /** The Entra authority, e.g. `https://login.microsoftonline.us`; https except on loopback. @default 'https://login.microsoftonline.com' */
  authorityHost?: string | undefined;
  /** Any OAuth 2.0 token endpoint, in place of `tenantId` and `authorityHost`; https except on loopback. @default undefined */
  tokenUrl?: string | undefined;
  /** The BFF's application (client) id. Required. @default undefined */
  clientId?: string | undefined;
  /**
   * Requests must carry this header with this value (a cross-site form or image cannot send it),
   * or get `403 ERR_ANTIFORGERY` before the session is read; safe methods are not exempt.
   * `true` means `{ header: 'x-csrf', value: '1' }`. WebSocket upgrades must come from an
   * `allowedOrigins` origin instead.
   * @default true
   */
  antiForgery?: AntiForgeryOption | undefined;
  /**
   * With anti-forgery on, the `Origin`s a WebSocket upgrade may come from, such as
   * `['https://app.example.com']`. Required to pass the middleware to `withBackendToken`.
   * @default undefined (upgrades refused)
   */
  allowedOrigins?: string | readonly string[] | undefined;
  /**
   * A shared second tier (a `RedisTokenCache` with `encryptionKey`): the fleet lock, hand-offs of
   * rotated refresh tokens and access tokens, so replicas redeem each refresh token once. A
   * `RedisTokenCache` without `encryptionKey` is refused.
   * @default the process-wide memory store
   */
  cache?: TokenCache | undefined;
  /** How many (session, scope) access tokens are held in this middleware; the least recently used is dropped. @default 10000 */
  maxUsers?: number | undefined;
  /** The request header that carries the access token. @default 'authorization' */
  header?: string | undefined;
  /** Inbound headers to delete before forwarding, e.g. `['cookie']`. The inbound `authorization` always goes. @default [] */
  removeHeaders?: readonly string[] | undefined;
  /** The longest a request waits for a refresh, retries included. @default 10000 */
  timeoutMs?: number | undefined;
  /** Where log lines go; never tokens or secrets. @default the `debug` module, namespace `aad-backend-auth` */
  logger?: AadBackendAuthLogger | undefined;
  /** Replaces the default `application/problem+json` answer. @default undefined */
  onError?: ErrorHandler<Req, Res> | undefined;
}

/** The function `aadUserToken` returns. `tokenProvider.getToken(req)` resolves that request's user's access token. */
export interface AadUserTokenMiddleware<Req extends IncomingMessage = IncomingMessage, Res extends ServerResponse = ServerResponse> {
  (req: Req, res: Res, next: (err?: unknown) => void): void;
  readonly tokenProvider: TokenProvider<Req>;
}
