import type { Agent, IncomingMessage, ServerResponse } from 'node:http';
import type { ClientCertificate } from '../sources/client-assertion.js';
import type { AadBackendAuthLogger, Awaitable, ErrorHandler, TokenCache, TokenProvider } from '../types.js';

/** Options of {@link aadOnBehalfOf}: the same names as `aadBackendAuth` where they mean the same thing. */
export interface AadOnBehalfOfOptions<Req extends IncomingMessage = IncomingMessage, Res extends ServerResponse = ServerResponse> {
  /**
   * Directory (tenant) id: a GUID or a verified domain. Required for `grant: 'on-behalf-of'`;
   * refused with `grant: 'token-exchange'`. `common`, `organizations` and `consumers` are refused.
   * @default undefined
   */
  tenantId?: string | undefined;
  /** The BFF's application (client) id: the audience of the user tokens it accepts. Required. @default undefined */
  clientId?: string | undefined;
  /**
   * The BFF's client secret, or a function that returns it (from a file or a vault), called
   * for every exchange. When the IdP answers `invalid_client` (AADSTS7000215, 7000222), the
   * function is called once more at once and the exchange retried if the secret changed, so
   * a rotation costs no outage. Set one of `clientSecret`, `clientCertificate` and
   * `clientAssertion`. Never logged.
   * @default undefined
   */
  clientSecret?: string | (() => Awaitable<string>) | undefined;
  /**
   * How `clientSecret` is sent: in the form body (`client_secret_post`), or as an HTTP Basic
   * header, id and secret form-encoded first (RFC 6749 §2.3.1; Keycloak's and Okta's default).
   * Only with `clientSecret`.
   * @default 'client_secret_post'
   */
  clientAuthentication?: 'client_secret_post' | 'client_secret_basic' | undefined;
  /**
   * private_key_jwt: a certificate and its private key (PEM or `KeyObject`), or a function that
   * returns them, called for every exchange (with the same rotation retry as `clientSecret`).
   * Each exchange carries a fresh JWT client assertion signed with jose, as for app tokens.
   * @default undefined
   */
  clientCertificate?: ClientCertificate | (() => Awaitable<ClientCertificate>) | undefined;
  /**
   * A function that returns a client assertion (a JWT) made elsewhere, called for every exchange:
   * workload identity federation (`AZURE_FEDERATED_TOKEN_FILE`, GitHub Actions OIDC).
   * @default undefined
   */
  clientAssertion?: (() => Awaitable<string>) | undefined;
  /**
   * Extra form fields of every exchange, such as an RFC 8693 `audience` or `resource`. They are
   * part of the cache key. Fields the package sets itself (`grant_type`, `client_id`,
   * `client_secret`, `client_assertion*`, `scope`, `assertion`, `requested_token_use`,
   * `subject_token`, `subject_token_type`) are refused.
   * @default undefined (none)
   */
  tokenParameters?: Readonly<Record<string, string>> | undefined;
  /**
   * The proxy for exchanges, discovery and keys: a URL such as `http://proxy.corp:3128` (https
   * is tunnelled with CONNECT), or `false` to ignore the environment. Loopback is always direct.
   * @default undefined (`https_proxy`/`HTTPS_PROXY` and `no_proxy`/`NO_PROXY`, lower case first, read for every request)
   */
  proxy?: string | false | undefined;
  /**
   * An agent for exchanges, discovery and keys that decides proxying and TLS itself (an
   * `HttpsProxyAgent`, say). Loopback is still reached directly. Not with `proxy` or `ca`.
   * @default undefined
   */
  agent?: Agent | undefined;
  /**
   * Extra CA certificates (PEM) trusted for exchanges, discovery and keys, added to Node's own
   * roots: a private CA, or a TLS-inspecting proxy's.
   * @default undefined (Node's roots only)
   */
  ca?: string | Buffer | readonly (string | Buffer)[] | undefined;
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
  /** The longest a request waits for discovery, keys or an exchange, retries included. @default 10000 */
  timeoutMs?: number | undefined;
  /** Where log lines go; never tokens or secrets. @default the `debug` module, namespace `aad-backend-auth` */
  logger?: AadBackendAuthLogger | undefined;
  /** Replaces the default `application/problem+json` answer. @default undefined */
  onError?: ErrorHandler<Req, Res> | undefined;
}

/** The function `aadOnBehalfOf` returns. `tokenProvider.getToken(req)` resolves that request's user's exchanged token. */
export interface AadOnBehalfOfMiddleware<Req extends IncomingMessage = IncomingMessage, Res extends ServerResponse = ServerResponse> {
  (req: Req, res: Res, next: (err?: unknown) => void): void;
  readonly tokenProvider: TokenProvider<Req>;
}
