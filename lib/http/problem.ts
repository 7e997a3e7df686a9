import { STATUS_CODES, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { AadBackendAuthError } from '../core/errors.js';
import { wwwAuthenticateFor } from './challenge.js';

/** What end users are told: generic on purpose. The details go to the logger and the `error` event. */
const DETAILS: Record<number, string> = {
  400: 'The request does not select a valid backend.',
  500: 'The gateway could not get a token for the backend.',
  502: 'The identity provider did not issue a token for the backend.',
  503: 'The identity provider is unavailable. Try again later.',
};
/** Short, generic texts for the errors that concern the user: the client learns what to do, not the IdP's words. */
const USER_ERROR_DETAILS: Readonly<Partial<Record<AadBackendAuthError['code'], string>>> = {
  ERR_USER_TOKEN_MISSING: 'The request carries no user token.',
  ERR_USER_TOKEN_INVALID: 'The user token is invalid or expired.',
  ERR_USER_INTERACTION_REQUIRED: 'The user must sign in again to satisfy the access policy (see WWW-Authenticate).',
  ERR_USER_CONSENT_REQUIRED: 'The user has not consented to the requested permissions.',
  ERR_USER_SESSION_EXPIRED: 'The user session has expired. Sign in again.',
  ERR_ANTIFORGERY: 'The request lacks the anti-forgery header.',
};
/** What clients are told to wait, whatever an IdP said: whole seconds from 1 to 5 minutes. */
const MAX_RETRY_AFTER_SECONDS = 300;

/** The RFC 9457 problem document for an error, as sent on the wire. */
export function problemBody(error: AadBackendAuthError): string {
  const status = error.status;
  return JSON.stringify({
    type: 'about:blank',
    title: STATUS_CODES[status] ?? 'Error',
    status,
    detail: USER_ERROR_DETAILS[error.code] ?? DETAILS[status] ?? 'The backend token could not be obtained.',
    code: error.code,
  });
}

/** Seconds a client should wait before trying again, for 503 answers. */
export function retryAfterFor(error: AadBackendAuthError, fallbackSeconds: number): number | undefined {
  if (error.status !== 503) return undefined;
  const seconds = Math.ceil(error.retryAfterSeconds ?? fallbackSeconds);
  return Math.min(MAX_RETRY_AFTER_SECONDS, Math.max(1, Number.isFinite(seconds) ? seconds : MAX_RETRY_AFTER_SECONDS));
}

/**
 * Answers with `application/problem+json`: on an HTTP response, or, for an upgrade
 * that cannot go ahead, as a raw HTTP/1.1 answer on the socket, which is then closed.
 */
export function sendProblem(to: ServerResponse | Duplex, error: AadBackendAuthError, retryAfterSeconds: number | undefined): void {
  const body = problemBody(error);
  const headers: Record<string, string> = {
    'content-type': 'application/problem+json',
    'cache-control': 'no-store',
    'content-length': String(Buffer.byteLength(body)),
  };
  if (retryAfterSeconds !== undefined) headers['retry-after'] = String(retryAfterSeconds);
  const challenge = wwwAuthenticateFor(error);
  if (challenge !== undefined) headers['www-authenticate'] = challenge;
  if (to instanceof ServerResponse) {
    if (to.headersSent) {
      to.destroy();
      return;
    }
    to.writeHead(error.status, headers);
    to.end(body);
    return;
  }
  if (to.destroyed || !to.writable) {
    to.destroy();
    return;
  }
  const head = [`HTTP/1.1 ${error.status} ${STATUS_CODES[error.status] ?? 'Error'}`, 'connection: close'];
  for (const [name, value] of Object.entries(headers)) head.push(`${name}: ${value}`);
  to.once('finish', () => to.destroy());
  to.end(`${head.join('\r\n')}\r\n\r\n${body}`);
}
