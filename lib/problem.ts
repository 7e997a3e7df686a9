import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { AadBackendAuthError } from './errors.js';
import { USER_ERROR_DETAILS, wwwAuthenticateFor } from './obo/www-authenticate.js';

/** What end users are told: generic on purpose. The details go to the logger and the `error` event. */
const DETAILS: Record<number, string> = {
  400: 'The request does not select a valid backend.',
  502: 'The identity provider did not issue a token for the backend.',
  503: 'The identity provider is unavailable. Try again later.',
};

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
  return Math.max(1, error.retryAfterSeconds ?? fallbackSeconds);
}

/** Answers with `application/problem+json`, without Express. */
export function sendProblem(res: ServerResponse, error: AadBackendAuthError, retryAfterSeconds: number | undefined): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = problemBody(error);
  res.statusCode = error.status;
  res.setHeader('content-type', 'application/problem+json');
  res.setHeader('cache-control', 'no-store');
  res.setHeader('content-length', Buffer.byteLength(body));
  if (retryAfterSeconds !== undefined) res.setHeader('retry-after', String(retryAfterSeconds));
  const challenge = wwwAuthenticateFor(error);
  if (challenge !== undefined) res.setHeader('www-authenticate', challenge);
  res.end(body);
}
