import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { withoutAccessToken } from './url-token.js';

/**
 * Removes the client's own credentials before a request is forwarded: the `removeHeaders`
 * (which always name `authorization` and the token header) from `headers` (`req.headers`, read
 * once by the caller) and any `access_token` query parameter.
 */
export function stripClientCredentials(req: IncomingMessage, headers: IncomingHttpHeaders, removeHeaders: readonly string[]): void {
  for (let i = 0; i < removeHeaders.length; i++) {
    const name = removeHeaders[i]!;
    // `delete` is a runtime call even for an absent header; a load is not.
    if (headers[name] !== undefined) delete headers[name];
  }
  const url = req.url;
  if (url !== undefined && url.includes('?')) stripTokenFromUrls(req as IncomingMessage & { originalUrl?: string });
}

/** Removes `access_token` query parameters from `req.url` and Express's `originalUrl`. */
function stripTokenFromUrls(req: IncomingMessage & { originalUrl?: string }): void {
  const url = withoutAccessToken(req.url!);
  if (url !== undefined) req.url = url;
  // Express keeps the full URL apart; some proxies (http-proxy-middleware 2) forward that one.
  if (typeof req.originalUrl === 'string') {
    const original = withoutAccessToken(req.originalUrl);
    if (original !== undefined) req.originalUrl = original;
  }
}
