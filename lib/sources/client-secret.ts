import axios, { type AxiosInstance, type AxiosResponse } from 'axios';
import { AadBackendAuthError } from '../errors.js';
import { describeOAuthError, malformed, parseOAuthError, parseRetryAfter, parseTokenResponse } from '../token-response.js';
import type { FetchedToken, TokenSource, TokenTarget } from './token-source.js';

/** No honest token answer comes near this; a captive portal or a hostile server might. */
const MAX_RESPONSE_BYTES = 64 * 1024;

export interface ClientSecretSourceOptions {
  /** The token endpoint for a tenant (fixed when `tokenUrl` was given). */
  readonly tokenEndpoint: (tenantId: string | undefined) => string;
  /** Identifies authority and client in cache keys. */
  readonly id: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** Entra v1 endpoints take `resource=` instead of `scope=`. */
  readonly v1: boolean;
}

/**
 * The client-credentials grant as a raw form POST through axios, the way the
 * API Management policy does it. The secret lives only in this closure.
 */
export function createClientSecretSource(options: ClientSecretSourceOptions): TokenSource {
  const { clientId, clientSecret, tokenEndpoint, v1 } = options;
  const http = createTokenHttp();
  const scrub = (text: string): string => text.split(clientSecret).join('[REDACTED]');

  async function fetchToken(target: TokenTarget, signal: AbortSignal): Promise<FetchedToken> {
    const url = tokenEndpoint(target.tenantId);
    const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret });
    if (v1) form.set('resource', target.resource ?? '');
    else form.set('scope', target.scopes.join(' '));
    let response: AxiosResponse<string>;
    try {
      response = await http.post<string>(url, form.toString(), { signal });
    } catch (error) {
      throw requestFailed(error, url, signal, scrub);
    }
    return interpret(response, scrub);
  }

  return { id: options.id, fetchToken };
}

/** A private axios instance for token endpoints: interceptors added to the global axios never see the secret. */
export function createTokenHttp(): AxiosInstance {
  return axios.create({
    maxRedirects: 0,
    maxContentLength: MAX_RESPONSE_BYTES,
    responseType: 'text',
    transformResponse: [(data: unknown) => data],
    validateStatus: () => true,
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
  });
}

/** A token endpoint's answer as a token, or the `AadBackendAuthError` it means. */
export function interpret(response: AxiosResponse<string>, scrub: (text: string) => string): FetchedToken {
  const { status } = response;
  const body = typeof response.data === 'string' ? response.data : '';
  if (status >= 200 && status < 300) {
    return parseTokenResponse(body, headerValue(response, 'content-type'), status);
  }
  if (status >= 300 && status < 400) throw malformed(`a redirect (HTTP ${status}), which is never followed`, status);
  const retryAfterSeconds = parseRetryAfter(headerValue(response, 'retry-after'));
  if (status === 429 || status === 408 || status >= 500) {
    return fail(
      new AadBackendAuthError('ERR_IDP_UNAVAILABLE', `The token endpoint is unavailable (HTTP ${status})`, {
        status: 503,
        idpStatus: status,
        retryAfterSeconds,
        transient: true,
      }),
    );
  }
  const oauth = parseOAuthError(body, scrub);
  const reason = oauth === undefined ? `HTTP ${status}` : `HTTP ${status} ${describeOAuthError(oauth)}`;
  return fail(
    new AadBackendAuthError('ERR_IDP_REJECTED', `The IdP refused the token request (${reason})`, {
      status: 502,
      idpStatus: status,
      oauth,
    }),
  );
}

function fail(error: AadBackendAuthError): never {
  throw error;
}

export function headerValue(response: AxiosResponse, name: string): string | undefined {
  const value: unknown = response.headers[name];
  return typeof value === 'string' ? value : undefined;
}

/** Maps a request that got no usable answer; never keeps the axios error, whose config holds the secret. */
export function requestFailed(error: unknown, url: string, signal: AbortSignal, scrub: (text: string) => string): AadBackendAuthError {
  const endpoint = new URL(url);
  const where = `${endpoint.origin}${endpoint.pathname}`;
  if (signal.aborted) {
    return new AadBackendAuthError('ERR_IDP_UNAVAILABLE', `The token request to ${where} was aborted: ${abortReason(signal)}`, {
      status: 503,
      transient: true,
    });
  }
  const code = error instanceof Error ? String((error as { code?: unknown }).code ?? '') : '';
  const message = error instanceof Error ? scrub(error.message).slice(0, 200) : 'unknown error';
  if (/maxContentLength/.test(message)) {
    return malformed(`a body larger than ${MAX_RESPONSE_BYTES} bytes`);
  }
  // zlib codes are Z_*; Node names brotli decoder errors ERR__ERROR_* ("Decompression failed").
  if (/^Z_|ERR_ZLIB|ERR_BROTLI|^ERR__ERROR_/.test(code) || /incorrect header check|unexpected end of file|Decompression failed/.test(message)) {
    return malformed('a body that could not be decompressed');
  }
  return new AadBackendAuthError('ERR_IDP_UNAVAILABLE', `The token request to ${where} failed: ${message}${code ? ` (${code})` : ''}`, {
    status: 503,
    transient: true,
  });
}

function abortReason(signal: AbortSignal): string {
  const reason: unknown = signal.reason;
  if (reason instanceof Error && reason.name === 'TimeoutError') return 'timed out';
  return reason instanceof Error ? reason.message.slice(0, 100) : 'aborted';
}
