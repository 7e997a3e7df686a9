import type { AxiosInstance, AxiosResponse, InternalAxiosRequestConfig } from 'axios';
import { AadBackendAuthError, invalidOption } from '../../core/errors.js';
import type { IssuedToken } from '../../gateway/token-gateway.js';
import type { ProviderToken } from '../../provider/provider-token.js';
import { tokenAfterUnauthorized } from './after-unauthorized.js';
import type { AuthClientOptions } from './client-options.js';
import { checkClientOptions, parseRetryOnUnauthorized } from './client-options.js';
import { baseUrlOrigins, checkAxiosUrl, guardRedirects, refusalIn } from './axios-redirects.js';
import { redactAxiosError } from './redact-axios-error.js';
import { isReplayableAxiosData } from './replayable-body.js';
import { resolveClientSource, type AuthSource } from './client-source.js';
import { parseAllowedOrigins, type UrlPolicy } from './url-policy.js';

/** Options of {@link useAadBackendAuth}. */
export type AadAxiosOptions = AuthClientOptions;

/** Set on the config of the one retry, so that it is never retried again. Not secret. */
const RETRY_FLAG = 'aadBackendAuthRetry';

interface Sent {
  readonly issued: IssuedToken;
  readonly replayable: boolean;
}

interface ErrorWithResponse {
  isAxiosError?: unknown;
  response?: AxiosResponse;
}

/**
 * Installs a request and a response interceptor on an axios instance: every request gets
 * `Authorization: Bearer <app token>` (overwriting the caller's own) from the same cache,
 * single flight and refresh-ahead as the middleware; after a 401 Bearer challenge the token is
 * evicted and the request sent once more with a new one. Errors are redacted: no token in
 * `error.config.headers`, and `error.request` is a summary. Serves fixed targets only; for
 * per-request tenants or resources, use `createAuthFetch(source).for(req)`.
 *
 * The token goes only to `https:` URLs (`http:` on loopback hosts aside), resolved as axios does
 * (`baseURL` + `url`, an absolute `url` overriding), and only to the origin of the instance's
 * `baseURL` when it has one, or to `allowedOrigins` when given (which replaces that default): any
 * other URL rejects with `ERR_URL_NOT_ALLOWED` before a token is fetched. Redirects within the
 * request's origin are followed as axios does; a redirect to another origin is not followed: the
 * call rejects with `ERR_URL_NOT_ALLOWED` and nothing is sent there. With axios's fetch adapter no
 * redirect is followed (the 3xx is the answer).
 * Returns a function that removes both interceptors (and closes the provider when `source` was options).
 *
 * @example
 * const ordersApi = axios.create({ baseURL: 'https://orders.internal/api' });
 * const eject = useAadBackendAuth(ordersApi, { tenantId, clientId, clientSecret, resource: 'api://orders' });
 */
export function useAadBackendAuth(instance: AxiosInstance, source: AuthSource, options: AadAxiosOptions = {}): () => void {
  const { gateway, tokenProvider, owned } = resolveClientSource(source);
  const o = checkClientOptions(options, ['retryOnUnauthorized', 'allowedOrigins']);
  const retry = parseRetryOnUnauthorized(o.retryOnUnauthorized);
  // An instance made for one backend (its baseURL) sends the token there alone, unless told otherwise.
  const policy: UrlPolicy = { origins: parseAllowedOrigins(o.allowedOrigins, 'useAadBackendAuth') ?? baseUrlOrigins(instance) };
  const { header } = gateway.rules;
  if (gateway.subject.perUser) {
    throw invalidOption(
      'source',
      'is an aadOnBehalfOf middleware or provider, which calls the backend as each request\'s user; the axios interceptor serves fixed targets only: use createAuthFetch(source).for(req)',
      'useAadBackendAuth',
    );
  }
  if (gateway.subject.needsRequest) {
    throw invalidOption('source', 'picks its target per request; the axios interceptor serves fixed targets (use createAuthFetch(source).for(req))');
  }
  // Keyed by the config object axios hands from the request to the response interceptor; nothing is added to it.
  const sent = new WeakMap<InternalAxiosRequestConfig, Sent>();

  const onRequest = async (config: InternalAxiosRequestConfig): Promise<InternalAxiosRequestConfig> => {
    const url = checkAxiosUrl(instance, policy, config);
    const issued = await gateway.issue(undefined);
    config.headers.set(header, issued.token.authorization);
    guardRedirects(config, url, header);
    sent.set(config, { issued, replayable: isReplayableAxiosData(config.data) });
    return config;
  };

  /** A 401: the response as it is, or the answer to the one retry. */
  const afterUnauthorized = async (response: AxiosResponse, error: unknown): Promise<AxiosResponse> => {
    const config = response.config;
    const record = sent.get(config);
    const settle = (): AxiosResponse => {
      if (error !== undefined) throw redactAxiosError(error, header);
      return response;
    };
    if (record === undefined) return settle();
    const wwwAuthenticate: unknown = response.headers['www-authenticate'];
    // Not sent again without `retry`, with a body that cannot be sent again, or a second time; the refused token goes all the same.
    const again = retry && record.replayable && (config as unknown as Record<string, unknown>)[RETRY_FLAG] !== true;
    let next: ProviderToken | undefined;
    try {
      next = await tokenAfterUnauthorized(gateway, record.issued.state, record.issued.token, wwwAuthenticate, again, undefined);
    } catch (thrown) {
      redactAxiosError(error, header);
      throw thrown;
    }
    if (next === undefined) return settle();
    redactAxiosError(error, header);
    // The request interceptor sets the new token, which the provider now holds.
    return instance.request({ ...config, [RETRY_FLAG]: true } as InternalAxiosRequestConfig);
  };

  const requestId = instance.interceptors.request.use(onRequest);
  const responseId = instance.interceptors.response.use(
    (response) => (response.status === 401 ? afterUnauthorized(response, undefined) : response),
    (error: unknown) => {
      if (error instanceof AadBackendAuthError) throw error;
      const refused = refusalIn(error);
      if (refused !== undefined) {
        redactAxiosError(error, header);
        throw refused;
      }
      const response = (error as ErrorWithResponse | null)?.response;
      if ((error as ErrorWithResponse | null)?.isAxiosError === true && response?.status === 401) return afterUnauthorized(response, error);
      throw redactAxiosError(error, header);
    },
  );
  return () => {
    instance.interceptors.request.eject(requestId);
    instance.interceptors.response.eject(responseId);
    // Nobody else can reach a provider made from options: it ends with its interceptors.
    if (owned) void tokenProvider.close();
  };
}
