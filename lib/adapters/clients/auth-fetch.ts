import type { IncomingMessage } from 'node:http';
import { AadBackendAuthError, invalidOption, toAadBackendAuthError } from '../../core/errors.js';
import type { TokenProvider } from '../../core/types.js';
import { userTokenMissing } from '../../core/user-errors.js';
import type { IssuedToken } from '../../gateway/token-gateway.js';
import { tokenAfterUnauthorized } from './after-unauthorized.js';
import { checkClientOptions, parseRetryOnUnauthorized, type AuthClientOptions } from './client-options.js';
import { resolveClientSource, type AuthSource } from './client-source.js';
import { fetchWithinOrigin } from './fetch-redirects.js';
import { isReplayableFetchCall } from './replayable-body.js';
import { checkUrl, parseAllowedOrigins, type UrlPolicy } from './url-policy.js';

/** A function with the signature of the global `fetch`. */
export type FetchFunction = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/** Options of {@link createAuthFetch}. */
export interface AuthFetchOptions extends AuthClientOptions {
  /**
   * The `fetch` to wrap, such as undici's.
   * @default globalThis.fetch
   */
  fetch?: FetchFunction | undefined;
}

/** What {@link createAuthFetch} returns: a `fetch` that sets the app token, plus its provider. */
export interface AuthFetch<Req extends IncomingMessage = IncomingMessage> extends FetchFunction {
  /**
   * A `fetch` bound to an incoming request: per-request `tenantId`, `resource` and `scope`
   * functions are called with `req`. Target errors reject with `ERR_INVALID_TARGET`.
   * With an `aadOnBehalfOf` source, it sends the delegated token of `req`'s user, validated,
   * exchanged and cached as the middleware does; no or a bad user token rejects with
   * `ERR_USER_TOKEN_MISSING` or `ERR_USER_TOKEN_INVALID`, and a backend's claims challenge with
   * `ERR_USER_INTERACTION_REQUIRED` (its `claims` are for the user's client to step up).
   */
  for(req: Req): FetchFunction;
  /** The provider behind it: shared with the middleware when one was given (the on-behalf-of provider for `aadOnBehalfOf`). */
  readonly tokenProvider: TokenProvider<Req>;
}

const noop = (): void => {};

/** The caller's headers: `init.headers`, or else those of a `Request` input (as `fetch` itself does). */
function callerHeaders(input: string | URL | Request, init: RequestInit | undefined): Headers {
  if (init?.headers !== undefined) return new Headers(init.headers);
  return new Headers(input instanceof Request ? input.headers : undefined);
}

/**
 * A `fetch` that sends `Authorization: Bearer <app token>` (overwriting the caller's own) with every
 * request, from the same cache, single flight and refresh-ahead as the middleware. After a 401
 * Bearer challenge it evicts that token and sends the request once more with a new one, when the
 * body can be sent again; with `clientCapabilities`, a claims challenge (CAE) makes the new token carry the claims. When no
 * token can be had, it rejects with the `AadBackendAuthError` and sends nothing.
 *
 * The token goes only to `https:` URLs (`http:` on loopback hosts aside) and, with `allowedOrigins`,
 * to those origins alone: any other URL rejects with `ERR_URL_NOT_ALLOWED` before a token is fetched.
 * Redirects within the request's origin are followed, with the token, as fetch would; a redirect to
 * another origin is not followed: the call rejects with `ERR_URL_NOT_ALLOWED` and nothing (token,
 * other headers, body) is sent there. A caller's own `redirect: 'manual'` or `'error'` is kept.
 *
 * @example
 * const ordersFetch = createAuthFetch({ tenantId, clientId, clientSecret, resource: 'api://orders' });
 * const res = await ordersFetch('https://orders.internal/api/orders/7');
 * @example As the signed-in user (on-behalf-of): only through `.for(req)`
 * const meFetch = createAuthFetch(aadOnBehalfOf({ tenantId, clientId, clientSecret, scope: 'api://orders/Orders.Read' }));
 * app.get('/me/orders', async (req, res) => res.json(await (await meFetch.for(req)(url)).json()));
 * @example Sharing a middleware's provider, per request
 * const auth = aadBackendAuth({ ..., tenantId: (req) => req.headers['x-tenant'] });
 * const authFetch = createAuthFetch(auth);
 * app.get('/summary', async (req, res) => res.json(await (await authFetch.for(req)(url)).json()));
 */
export function createAuthFetch<Req extends IncomingMessage = IncomingMessage>(source: AuthSource<Req>, options: AuthFetchOptions = {}): AuthFetch<Req> {
  const { gateway, tokenProvider } = resolveClientSource(source);
  const o = checkClientOptions(options, ['fetch', 'retryOnUnauthorized', 'allowedOrigins']);
  if (o.fetch !== undefined && typeof o.fetch !== 'function') throw invalidOption('fetch', 'must be a function with the signature of fetch');
  const inner = (o.fetch as FetchFunction | undefined) ?? ((input, init) => globalThis.fetch(input, init));
  const retry = parseRetryOnUnauthorized(o.retryOnUnauthorized);
  const policy: UrlPolicy = { origins: parseAllowedOrigins(o.allowedOrigins, 'createAuthFetch') };
  const { header } = gateway.rules;

  async function send(req: Req | undefined, { state, token }: IssuedToken, url: URL, input: string | URL | Request, init: RequestInit | undefined): Promise<Response> {
    const headers = callerHeaders(input, init);
    headers.set(header, token.authorization);
    const first = await fetchWithinOrigin(inner, url, input, init, headers);
    if (first.status !== 401) return first;
    let next: Awaited<ReturnType<typeof tokenAfterUnauthorized>>;
    try {
      // Not sent again without `retry` or with a body that cannot be sent again; the refused token goes all the same.
      next = await tokenAfterUnauthorized(gateway, state, token, first.headers.get('www-authenticate'), retry && isReplayableFetchCall(input, init), req);
    } catch (error) {
      first.body?.cancel().catch(noop);
      throw toAadBackendAuthError(error);
    }
    if (next === undefined) return first;
    // The refused answer is dropped unread; cancelling frees its connection.
    first.body?.cancel().catch(noop);
    headers.set(header, next.authorization);
    return fetchWithinOrigin(inner, url, input, init, headers);
  }

  /** Where the call goes, checked before any token is fetched, then the gateway's flow for `req`'s token. */
  function call(req: Req | undefined, input: string | URL | Request, init: RequestInit | undefined): Promise<Response> {
    let url: URL;
    try {
      url = checkUrl(policy, input instanceof Request ? input.url : input);
    } catch (error) {
      return Promise.reject(error);
    }
    if (req === undefined && gateway.subject.perUser) {
      return Promise.reject(userTokenMissing('the source calls the backend as a request\'s user: call authFetch.for(req)'));
    }
    if (req === undefined && gateway.subject.needsRequest) {
      return Promise.reject(
        new AadBackendAuthError('ERR_INVALID_TARGET', 'The target is picked per request ("tenantId", "resource" or "scope" is a function): call authFetch.for(req)'),
      );
    }
    return gateway.issue(req).then((issued) => send(req, issued, url, input, init));
  }

  const authFetch = (input: string | URL | Request, init?: RequestInit): Promise<Response> => call(undefined, input, init);
  const bound = (req: Req): FetchFunction => (input, init) => call(req, input, init);
  Object.defineProperty(authFetch, 'for', { value: bound, enumerable: false });
  Object.defineProperty(authFetch, 'tokenProvider', { value: tokenProvider as TokenProvider<Req>, enumerable: false });
  return authFetch as AuthFetch<Req>;
}
