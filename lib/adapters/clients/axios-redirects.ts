import type { AxiosInstance, InternalAxiosRequestConfig } from 'axios';
import { AadBackendAuthError } from '../../core/errors.js';
import { checkRedirect, checkUrl, urlNotAllowed, type UrlPolicy } from './url-policy.js';

type BeforeRedirect = NonNullable<InternalAxiosRequestConfig['beforeRedirect']>;

/** Our guard carries the caller's own hook it wraps, so a retried config is not wrapped twice. */
type Guard = BeforeRedirect & { readonly [WRAPS]?: BeforeRedirect | undefined };
const WRAPS = Symbol('the caller\'s beforeRedirect that a guard wraps');

/**
 * The URL axios will send `config` to, resolved by axios itself (`baseURL` + `url`, an absolute
 * `url` overriding, `allowAbsoluteUrls`, `params`), checked against `policy`. Throws `ERR_URL_NOT_ALLOWED`.
 */
export function checkAxiosUrl(instance: AxiosInstance, policy: UrlPolicy, config: InternalAxiosRequestConfig): URL {
  let uri: string;
  try {
    uri = instance.getUri(config);
  } catch {
    throw urlNotAllowed('axios cannot build the URL');
  }
  return checkUrl(policy, uri);
}

/** The default `allowedOrigins` of an instance: its `baseURL`'s origin, when it has an absolute one. */
export function baseUrlOrigins(instance: AxiosInstance): ReadonlySet<string> | undefined {
  const base: unknown = instance.defaults.baseURL;
  if (typeof base !== 'string' || base === '') return undefined;
  try {
    const origin = new URL(base).origin;
    return origin === 'null' ? undefined : new Set([origin]);
  } catch {
    return undefined;
  }
}

/**
 * Keeps the token within `url`'s origin across redirects. axios's Node adapter follows redirects
 * with follow-redirects, which keeps a custom header (and `Authorization` on subdomains) on a
 * redirect to another origin: a redirect leaving the origin is refused in `beforeRedirect`, before
 * the redirected request is made and before the caller's own `beforeRedirect` runs; the token
 * header is removed from the redirected request too, should anything swallow the refusal. axios's fetch
 * adapter gives no such hook: there, no redirect is followed (`fetchOptions.redirect: 'manual'`).
 */
export function guardRedirects(config: InternalAxiosRequestConfig, url: URL, header: string): void {
  const current = config.beforeRedirect;
  const own = current !== undefined && WRAPS in current ? (current as Guard)[WRAPS] : current;
  const guard: Guard = (options, responseDetails, requestDetails) => {
    let next: URL;
    try {
      next = new URL(String(options.href));
    } catch {
      next = new URL('about:blank');
    }
    if (next.origin !== url.origin) stripHeader(options.headers, header);
    checkRedirect(url, next);
    own?.(options, responseDetails, requestDetails);
  };
  Object.defineProperty(guard, WRAPS, { value: own });
  config.beforeRedirect = guard;
  const fetchOptions = (config.fetchOptions ?? {}) as Record<string, unknown>;
  if (fetchOptions.redirect !== 'error') config.fetchOptions = { ...fetchOptions, redirect: 'manual' };
}

function stripHeader(headers: unknown, header: string): void {
  if (typeof headers !== 'object' || headers === null) return;
  const record = headers as Record<string, unknown>;
  for (const name of Object.keys(record)) if (name.toLowerCase() === header) delete record[name];
}

/** Our refusal from a `beforeRedirect`, which axios hands back wrapped in its own errors. */
export function refusalIn(error: unknown): AadBackendAuthError | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth++) {
    if (current instanceof AadBackendAuthError) return current.code === 'ERR_URL_NOT_ALLOWED' ? current : undefined;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}
