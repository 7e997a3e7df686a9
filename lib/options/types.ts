import type { Agent, IncomingMessage, ServerResponse } from 'node:http';
import type { AadBackendAuthError } from '../core/errors.js';
import type { ClientCertificate } from '../grants/client-assertion.js';
import type { AadBackendAuthLogger, Awaitable, PerRequest, TokenCache, TokenCredential } from '../core/types.js';

/** Called instead of the default problem+json answer when no token can be had. */
export type ErrorHandler<Req extends IncomingMessage = IncomingMessage, Res extends ServerResponse = ServerResponse> = (
  err: AadBackendAuthError,
  req: Req,
  res: Res,
  next: (err?: unknown) => void,
) => void;

/** How the client proves who it is to the token endpoint, and how it reaches it: shared by every entry point. */
export interface ClientCredentialOptions {
  /**
   * The client secret, or a function that returns it (from a file or a vault), called for
   * every token request (every exchange, for `aadOnBehalfOf`). When the IdP answers `invalid_client` (AADSTS7000215, 7000222),
   * the function is called once more at once and the request retried if the secret changed,
   * so a rotation costs no outage. Set one of `clientSecret`, `clientCertificate` and
   * `clientAssertion` (or, for `aadBackendAuth`, `credential`). Never logged.
   * @default undefined
   */
  clientSecret?: string | (() => Awaitable<string>) | undefined;
  /**
   * How `clientSecret` is sent: in the form body (`client_secret_post`), or as an HTTP Basic
   * header, id and secret form-encoded first as RFC 6749 §2.3.1 says (`client_secret_basic`:
   * Keycloak, Okta, Kong and Envoy defaults). Only with `clientSecret`.
   * @default 'client_secret_post'
   */
  clientAuthentication?: 'client_secret_post' | 'client_secret_basic' | undefined;
  /**
   * private_key_jwt: a certificate and its private key (PEM or `KeyObject`), or a function
   * that returns them, called for every token request (with the same rotation retry as
   * `clientSecret`). Each token request carries a fresh JWT client assertion signed with jose
   * (RS256 or PS256; `iss` = `sub` = `clientId`, `aud` = the token endpoint, a unique `jti`,
   * 5 minutes of life, `x5t#S256` and `x5t` headers, `x5c` with `sendCertificateChain`).
   * Entra certificates without `@azure/identity`.
   * @default undefined
   */
  clientCertificate?: ClientCertificate | (() => Awaitable<ClientCertificate>) | undefined;
  /**
   * A function that returns a client assertion (a JWT) made elsewhere, called for every token
   * request: workload identity federation (the Kubernetes token in `AZURE_FEDERATED_TOKEN_FILE`,
   * GitHub Actions OIDC, a managed identity's token). Sent as a jwt-bearer `client_assertion`.
   * @default undefined
   */
  clientAssertion?: (() => Awaitable<string>) | undefined;
  /**
   * Extra form fields of every token request, such as Auth0's `audience` or an RFC 8707
   * `resource` indicator. They are part of the cache key. Fields the package sets itself
   * (`grant_type`, `client_id`, `client_secret`, `client_assertion*`, `scope`, `assertion`)
   * are refused, and so is `resource` with an Entra v1 `tokenUrl`; `aadOnBehalfOf` also refuses
   * `requested_token_use`, `subject_token` and `subject_token_type`.
   * @default undefined (none)
   */
  tokenParameters?: Readonly<Record<string, string>> | undefined;
  /**
   * The proxy for token requests (and, for `aadOnBehalfOf`, OpenID discovery and keys): a URL such as `http://proxy.corp:3128` (https is tunnelled
   * with CONNECT), or `false` to ignore the environment. Loopback token endpoints are always
   * reached directly.
   * User and password in the URL are sent as `Proxy-Authorization: Basic` and never logged. A proxy that answers
   * `CONNECT` with anything but 200 gets `ERR_IDP_UNAVAILABLE`; its answer is never read.
   * @default undefined (`https_proxy`/`HTTPS_PROXY` and `no_proxy`/`NO_PROXY`, lower case first, read for every token request;
   * `NO_PROXY` as curl reads it: domains with their subdomains, `host:port`, IP literals and CIDR ranges, a lone `*`)
   */
  proxy?: string | false | undefined;
  /**
   * An agent for the same requests as `proxy` that decides proxying and TLS itself (an `HttpsProxyAgent`, say).
   * Loopback token endpoints are still reached directly. Not with `proxy` or `ca`. An https answer counts only
   * when it arrives over a TLS connection that the agent verified and whose certificate names the endpoint's
   * host: an agent that turns certificate checks off, or replays a proxy's answer, gets `ERR_IDP_UNAVAILABLE`.
   * @default undefined
   */
  agent?: Agent | undefined;
  /**
   * Extra CA certificates (PEM) trusted for the same requests as `proxy`, added to Node's own roots: a
   * private CA, or a TLS-inspecting proxy's. No `NODE_EXTRA_CA_CERTS` needed.
   * @default undefined (Node's roots only)
   */
  ca?: string | Buffer | readonly (string | Buffer)[] | undefined;
}

/** Options of {@link createTokenProvider}: where tokens come from and how they are kept. */
export interface TokenProviderOptions<Req extends IncomingMessage = IncomingMessage> extends ClientCredentialOptions {
  /**
   * Directory (tenant) id: a GUID or a verified domain such as `contoso.onmicrosoft.com`.
   * Required for the client-secret flow unless `tokenUrl` is set. May be a function of the request.
   * `common`, `organizations` and `consumers` are refused: app tokens need a real tenant.
   * @default undefined
   */
  tenantId?: PerRequest<string, Req> | undefined;
  /**
   * The application (client) id of the BFF's app registration. Required unless `credential` is set.
   * With `credential` and a `cache` shared between processes (Redis), set it to the credential's
   * client id, with `tenantId`, so that the shared key names the whole identity. In-process, a
   * credential object is its own identity, whatever its `clientId`.
   * @default undefined
   */
  clientId?: string | undefined;
  /**
   * Any `TokenCredential` from `@azure/identity` (`DefaultAzureCredential`,
   * `ManagedIdentityCredential`, `ClientCertificateCredential`, ...), used in place of
   * `clientId` + `clientSecret`. Tokens then come from `credential.getToken(scopes)`.
   * @default undefined
   */
  credential?: TokenCredential | undefined;
  /**
   * The backend's App ID URI or resource URL, e.g. `api://orders`. Sent as scope
   * `<resource>/.default` (v2), or as `resource=` to an Entra v1 `tokenUrl`.
   * Set exactly one of `resource` and `scope`. May be a function of the request.
   * @default undefined
   */
  resource?: PerRequest<string, Req> | undefined;
  /**
   * v2 scopes, e.g. `api://orders/.default`. Set exactly one of `resource` and `scope`.
   * May be a function of the request.
   * @default undefined
   */
  scope?: PerRequest<string | readonly string[], Req> | undefined;
  /**
   * The Entra authority for sovereign clouds, e.g. `https://login.microsoftonline.us`.
   * Must be https, except on loopback hosts.
   * @default 'https://login.microsoftonline.com'
   */
  authorityHost?: string | undefined;
  /**
   * A full token endpoint, overriding `authorityHost` and `tenantId`: an Entra v1
   * endpoint (path ending `/oauth2/token`, sent `resource=`) or any RFC 6749 server.
   * Must be https, except on loopback hosts.
   * @default undefined
   */
  tokenUrl?: string | undefined;
  /**
   * Refresh in the background once expiry is this close, never before half the
   * token's lifetime. An IdP's `refresh_in` advice is honoured when earlier.
   * @default 300000 (5 minutes)
   */
  refreshWindowMs?: number | undefined;
  /**
   * The longest a caller waits for a token, retries included.
   * @default 10000
   */
  timeoutMs?: number | undefined;
  /**
   * Where tokens are shared. The default is a process-wide memory store on
   * `node-cache`: providers share a token (and a token request in flight) only when
   * their keys agree, that is the same identity, tenant and scopes.
   * @default the shared memory store
   */
  cache?: TokenCache | undefined;
  /**
   * After a failed acquisition with no usable token, callers get the same error
   * for this long instead of hammering a failing IdP. At most 5000.
   * @default 2000
   */
  failureCooldownMs?: number | undefined;
  /**
   * With per-request `tenantId`, `resource` or `scope`: how many distinct
   * targets are kept; the least recently used is dropped beyond it.
   * @default 1000
   */
  maxKeys?: number | undefined;
  /**
   * The most token requests this provider has in flight at once (each carries the
   * client's credential). Further requests queue, each within its own `timeoutMs`.
   * @default 16
   */
  maxConcurrentTokenRequests?: number | undefined;
  /**
   * Where log lines go. They carry AADSTS codes and correlation ids, never secrets or tokens.
   * @default the `debug` module, namespace `aad-backend-auth` (enable with `DEBUG=aad-backend-auth`)
   */
  logger?: AadBackendAuthLogger | undefined;
  /**
   * Client capabilities announced to Entra ID with every token request, e.g. `['cp1']`, so that
   * it issues tokens for Continuous Access Evaluation (CAE). They are sent as
   * `claims={"access_token":{"xms_cc":{"values":["cp1"]}}}`, merged with the claims of a
   * backend's `insufficient_claims` challenge; a `credential` gets `enableCae: true` instead.
   * Only announce `cp1` when every caller of these tokens handles claims challenges
   * (the middleware, `createAuthFetch` and `useAadBackendAuth` do).
   * A backend's claims challenge is acted on only with capabilities: without them it is a plain
   * 401 (the token is evicted, no claims are asked for). With them, the challenge's claims go with
   * the next token request only; if the IdP refuses them, that request's callers get the error,
   * the claims are dropped and the next request asks as usual. A challenge not yet asked for is
   * forgotten after 5 minutes, and `invalidate()` drops it.
   * @default undefined (no capabilities)
   */
  clientCapabilities?: readonly string[] | undefined;
}

/** Options of {@link aadBackendAuth}: the provider's, plus what the middleware does with requests. */
export interface AadBackendAuthOptions<Req extends IncomingMessage = IncomingMessage, Res extends ServerResponse = ServerResponse>
  extends TokenProviderOptions<Req> {
  /**
   * The request header that carries the token. An inbound `authorization` header
   * is always removed, so a client's own credential never reaches the backend.
   * @default 'authorization'
   */
  header?: string | undefined;
  /**
   * Inbound headers to delete before forwarding, e.g. `['cookie', 'ocp-apim-subscription-key']`.
   * @default []
   */
  removeHeaders?: readonly string[] | undefined;
  /**
   * When the backend answers with one of these statuses, the token that request
   * carried is evicted, so the next request fetches a new one.
   * @default [401]
   */
  purgeOnStatus?: readonly number[] | undefined;
  /**
   * At most one eviction per target in this time, so a backend that always
   * answers 401 cannot hammer the IdP.
   * @default 30000
   */
  purgeCooldownMs?: number | undefined;
  /**
   * Anti-forgery, for a route whose backend call rides on ambient credentials (a cookie): each
   * request must carry this header with this value, or gets `403 ERR_ANTIFORGERY` and is not
   * forwarded; safe methods are not exempt. `true` means `{ header: 'x-csrf', value: '1' }`.
   * WebSocket upgrades must come from an `allowedOrigins` origin instead.
   * @default false (app tokens do not act on the caller's credentials)
   */
  antiForgery?: boolean | { header?: string | undefined; value?: string | undefined } | undefined;
  /**
   * With `antiForgery` on, the `Origin`s a WebSocket upgrade may come from, such as
   * `['https://app.example.com']`; required to pass the middleware to `withBackendToken`.
   * @default undefined
   */
  allowedOrigins?: string | readonly string[] | undefined;
  /**
   * Replaces the default `application/problem+json` answer when no token can be had.
   * @default undefined (answer 400, 502 or 503 with problem+json)
   */
  onError?: ErrorHandler<Req, Res> | undefined;
}
