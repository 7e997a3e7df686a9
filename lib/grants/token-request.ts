import axios, { type AxiosInstance, type AxiosResponse } from 'axios';
import { AadBackendAuthError } from '../core/errors.js';
import { describeOAuthError, malformed, parseOAuthError, parseRetryAfter, parseTokenResponse } from './token-response.js';
import { observeChannel } from './answer-channel.js';
import { parseJsonObject } from '../core/json.js';
import type { OutboundAgents } from './outbound-agent.js';
import type { FetchedToken } from './token-source.js';

/** No honest token answer comes near this; a captive portal or a hostile server might. */
const MAX_RESPONSE_BYTES = 64 * 1024;

import type { Scrub } from './scrub.js';

export type { Scrub } from './scrub.js';

/**
 * A grant's own reading of a 4xx answer, before the generic `ERR_IDP_REJECTED`: the
 * on-behalf-of grant maps `interaction_required` and consent to the user's errors.
 * `body` is already scrubbed. `undefined` leaves the answer to the generic mapping.
 */
export type RefineRejection = (status: number, body: string) => AadBackendAuthError | undefined;

/**
 * A grant's reading of the other members of a token answer (the refresh-token grant's rotated
 * `refresh_token` and `scope`), called with the parsed JSON of an answer that holds a token.
 */
export type ReadAnswer = (answer: Record<string, unknown>) => void;

/** One form POST to a token endpoint, and what its answer means. */
export type PostForm = (
  url: string,
  form: URLSearchParams,
  headers: Record<string, string>,
  signal: AbortSignal,
  scrub: Scrub,
  refine?: RefineRejection,
  read?: ReadAnswer,
) => Promise<FetchedToken>;

/**
 * The token request as a raw form POST through axios, the way the API Management
 * policy does it. `proxy: false` turns axios's own proxy handling off: the agents
 * from {@link OutboundAgents} decide, so loopback is always direct.
 */
export function createFormPoster(agents: OutboundAgents): PostForm {
  const http = createTokenHttp();
  return async (url, form, headers, signal, scrub, refine, read) => {
    let response: AxiosResponse<string>;
    const channel = observeChannel(new URL(url));
    try {
      const { httpAgent, httpsAgent } = agents.forUrl(url);
      response = await http.post<string>(url, form.toString(), { signal, headers, httpAgent, httpsAgent, transport: channel.transport });
    } catch (error) {
      const refused = channel.answer();
      if (refused?.problem !== undefined && !signal.aborted) throw notFromEndpoint(url, refused.status, refused.problem);
      throw requestFailed(error, url, signal, scrub);
    }
    // Only the endpoint's own answer, over TLS to it, is read at all: never a proxy's.
    const seen = channel.answer();
    const problem = seen === undefined ? 'that was not seen arriving' : seen.problem;
    if (problem !== undefined) throw notFromEndpoint(url, response.status, problem);
    return interpret(response, scrub, refine, read);
  };
}

/** A private axios instance for token endpoints: interceptors added to the global axios never see a secret. */
export function createTokenHttp(): AxiosInstance {
  return axios.create({
    maxRedirects: 0,
    maxContentLength: MAX_RESPONSE_BYTES,
    responseType: 'text',
    transformResponse: [(data: unknown) => data],
    validateStatus: () => true,
    proxy: false,
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
  });
}

/** A token endpoint's answer as a token, or the `AadBackendAuthError` it means. */
export function interpret(response: AxiosResponse<string>, scrub: Scrub, refine?: RefineRejection, read?: ReadAnswer): FetchedToken {
  const { status } = response;
  const body = typeof response.data === 'string' ? response.data : '';
  // RFC 6749 §5.1: a token answer is a 200, for every grant.
  if (status === 200) {
    const token = parseTokenResponse(body, headerValue(response, 'content-type'), status);
    read?.(parseJsonObject(body)!);
    return token;
  }
  if (status >= 200 && status < 300) throw malformed(`HTTP ${status} instead of 200`, status);
  if (status >= 300 && status < 400) throw malformed(`a redirect (HTTP ${status}), which is never followed`, status);
  const retryAfterSeconds = parseRetryAfter(headerValue(response, 'retry-after'));
  if (status === 429 || status === 408 || status >= 500) {
    throw new AadBackendAuthError('ERR_IDP_UNAVAILABLE', `The token endpoint is unavailable (HTTP ${status})`, {
      idpStatus: status,
      retryAfterSeconds,
    });
  }
  if (refine !== undefined) {
    const refined = refine(status, scrub(body));
    if (refined !== undefined) throw refined;
  }
  const oauth = parseOAuthError(body, scrub);
  const reason = oauth === undefined ? `HTTP ${status}` : `HTTP ${status} ${describeOAuthError(oauth)}`;
  throw new AadBackendAuthError('ERR_IDP_REJECTED', `The IdP refused the token request (${reason})`, {
    idpStatus: status,
    oauth,
  });
}

function headerValue(response: AxiosResponse, name: string): string | undefined {
  const value: unknown = response.headers[name];
  return typeof value === 'string' ? value : undefined;
}

/** An answer that is not the endpoint's own: unavailable (nothing cached, retried as an outage), its body unread. */
function notFromEndpoint(url: string, status: number, problem: string): AadBackendAuthError {
  return new AadBackendAuthError('ERR_IDP_UNAVAILABLE', `The token request to ${where(url)} got an answer (HTTP ${status}) ${problem}`);
}

function where(url: string): string {
  const endpoint = new URL(url);
  return `${endpoint.origin}${endpoint.pathname}`;
}

/** Maps a request that got no usable answer; never keeps the axios error, whose config holds the secret. */
export function requestFailed(error: unknown, url: string, signal: AbortSignal, scrub: Scrub): AadBackendAuthError {
  if (signal.aborted) {
    return new AadBackendAuthError('ERR_IDP_UNAVAILABLE', `The token request to ${where(url)} was aborted: ${abortReason(signal)}`);
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
  return new AadBackendAuthError('ERR_IDP_UNAVAILABLE', `The token request to ${where(url)} failed: ${message}${code ? ` (${code})` : ''}`);
}

function abortReason(signal: AbortSignal): string {
  const reason: unknown = signal.reason;
  if (reason instanceof Error && reason.name === 'TimeoutError') return 'timed out';
  return reason instanceof Error ? reason.message.slice(0, 100) : 'aborted';
}
