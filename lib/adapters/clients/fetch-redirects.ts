import { isReplayableFetchCall } from './replayable-body.js';
import { checkRedirect } from './url-policy.js';

type Inner = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/** fetch's own limit (WHATWG fetch, "HTTP-redirect fetch"). */
const MAX_REDIRECTS = 20;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
/** The request-body header names fetch drops when a redirect turns the request into a GET. */
const BODY_HEADERS = ['content-type', 'content-length', 'content-encoding', 'content-language', 'content-location'];
const noop = (): void => {};

/**
 * Sends one call carrying the token in `headers`. With the `follow` redirect mode (fetch's
 * default), redirects are not left to `fetch`, which keeps every header but `Authorization` on
 * a redirect to another origin: the call goes out with `redirect: 'manual'`, and a redirect
 * within `url`'s origin is followed here, with the token, as fetch would (303, and 301/302 after
 * a POST, become a GET without body; at most 20). A redirect to another origin is not followed:
 * it rejects with `ERR_URL_NOT_ALLOWED` and nothing, token or body, goes there. A redirect that
 * would need a body that cannot be sent again is returned as is. The `manual` and `error` modes
 * are the caller's, passed on unchanged.
 */
export async function fetchWithinOrigin(inner: Inner, url: URL, input: string | URL | Request, init: RequestInit | undefined, headers: Headers): Promise<Response> {
  const mode = init?.redirect ?? (input instanceof Request ? input.redirect : 'follow');
  if (mode !== 'follow') return inner(input, { ...init, headers });
  let response = await inner(input, { ...init, headers, redirect: 'manual' });
  let method = (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
  let body = init?.body;
  let current = url;
  let sent = headers;
  const replayable = isReplayableFetchCall(input, init);
  const signal = init?.signal ?? (input instanceof Request ? input.signal : undefined);
  for (let hops = 0; ; hops++) {
    const location = REDIRECT_STATUSES.has(response.status) ? response.headers.get('location') : null;
    if (location === null) return response;
    let next: URL;
    try {
      next = new URL(location, current);
    } catch {
      return response;
    }
    const toGet = response.status === 303 ? method !== 'GET' && method !== 'HEAD' : response.status <= 302 && method === 'POST';
    if (!toGet && method !== 'GET' && method !== 'HEAD' && !replayable) return response;
    // The refused answer is dropped unread; cancelling frees its connection.
    response.body?.cancel().catch(noop);
    checkRedirect(url, next);
    if (hops >= MAX_REDIRECTS) throw new TypeError('fetch failed: redirect count exceeded');
    if (toGet) {
      method = 'GET';
      body = undefined;
      // A copy: the caller sends `headers` again after a 401, body headers included.
      sent = new Headers(sent);
      for (const name of BODY_HEADERS) sent.delete(name);
    }
    current = next;
    response = await inner(next.href, { ...init, method, headers: sent, body: body ?? null, redirect: 'manual', ...(signal && { signal }) });
  }
}
