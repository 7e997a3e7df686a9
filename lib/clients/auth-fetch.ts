import type { IncomingMessage } from 'node:http';
import { AadBackendAuthError, invalidOption, toAadBackendAuthError } from '../errors.js';
import type { TargetState } from '../provider/target-state.js';
import type { TokenProvider } from '../types.js';
import { checkClientOptions, parseRetryOnUnauthorized, type AuthClientOptions } from './client-options.js';
import { acquireFor, evictAfterUnauthorized, tokenAfterUnauthorized } from './client-token.js';
import { isReplayableFetchCall } from './replayable-body.js';
import { resolveAuthSource, type AuthSource } from './resolve-source.js';

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
   */
  for(req: Req): FetchFunction;
  /** The provider behind it: shared with the middleware when one was given. */
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
 * body can be sent again; a claims challenge (CAE) makes the new token carry the claims. When no
 * token can be had, it rejects with the `AadBackendAuthError` and sends nothing.
 *
 * @example
 * const ordersFetch = createAuthFetch({ tenantId, clientId, clientSecret, resource: 'api://orders' });
 * const res = await ordersFetch('https://orders.internal/api/orders/7');
 * @example Sharing a middleware's provider, per request
 * const auth = aadBackendAuth({ ..., tenantId: (req) => req.headers['x-tenant'] });
 * const authFetch = createAuthFetch(auth);
 * app.get('/summary', async (req, res) => res.json(await (await authFetch.for(req)(url)).json()));
 */
export function createAuthFetch<Req extends IncomingMessage = IncomingMessage>(source: AuthSource<Req>, options: AuthFetchOptions = {}): AuthFetch<Req> {
  const binding = resolveAuthSource(source);
  const o = checkClientOptions(options, ['fetch', 'retryOnUnauthorized']);
  if (o.fetch !== undefined && typeof o.fetch !== 'function') throw invalidOption('fetch', 'must be a function with the signature of fetch');
  const inner = (o.fetch as FetchFunction | undefined) ?? ((input, init) => globalThis.fetch(input, init));
  const retry = parseRetryOnUnauthorized(o.retryOnUnauthorized);
  const { provider, header } = binding;

  async function send(slot: TargetState, input: string | URL | Request, init: RequestInit | undefined): Promise<Response> {
    const token = provider.cachedToken(slot) ?? (await acquireFor(binding, slot));
    const headers = callerHeaders(input, init);
    headers.set(header, token.authorization);
    const first = await inner(input, { ...init, headers });
    if (first.status !== 401) return first;
    if (!retry || !isReplayableFetchCall(input, init)) {
      // Not sent again, but the refused token must still go, as the middleware's purgeOnStatus does.
      evictAfterUnauthorized(binding, slot, token, first.headers.get('www-authenticate'));
      return first;
    }
    let next: Awaited<ReturnType<typeof tokenAfterUnauthorized>>;
    try {
      next = await tokenAfterUnauthorized(binding, slot, token, first.headers.get('www-authenticate'));
    } catch (error) {
      first.body?.cancel().catch(noop);
      throw toAadBackendAuthError(error);
    }
    if (next === undefined) return first;
    // The refused answer is dropped unread; cancelling frees its connection.
    first.body?.cancel().catch(noop);
    headers.set(header, next.authorization);
    return inner(input, { ...init, headers });
  }

  function slotOf(req: Req | undefined): TargetState {
    try {
      return provider.stateFor(req);
    } catch (error) {
      throw toAadBackendAuthError(error);
    }
  }

  const authFetch = (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    if (provider.perRequestTargets) {
      return Promise.reject(
        new AadBackendAuthError('ERR_INVALID_TARGET', 'The target is picked per request ("tenantId", "resource" or "scope" is a function): call authFetch.for(req)'),
      );
    }
    return send(slotOf(undefined), input, init);
  };
  const bound = (req: Req): FetchFunction => (input, init) => {
    let slot: TargetState;
    try {
      slot = slotOf(req);
    } catch (error) {
      return Promise.reject(error);
    }
    return send(slot, input, init);
  };
  Object.defineProperty(authFetch, 'for', { value: bound, enumerable: false });
  Object.defineProperty(authFetch, 'tokenProvider', { value: provider as TokenProvider<Req>, enumerable: false });
  return authFetch as AuthFetch<Req>;
}
