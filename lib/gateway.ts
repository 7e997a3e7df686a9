import type { IncomingMessage } from 'node:http';
import type { MiddlewareSettings } from './options/middleware-options.js';
import type { TargetState } from './provider/target-state.js';
import type { AadTokenProvider } from './provider/token-provider.js';
import { withoutAccessToken } from './http/url-token.js';

/**
 * What the HTTP middleware and the upgrade handler share: one provider and one set of
 * header rules. Both entry points are built from it, so they behave alike.
 */
export class TokenGateway {
  readonly provider: AadTokenProvider;
  readonly header: string;
  readonly settings: MiddlewareSettings;
  readonly fallbackRetryAfterSeconds: number;

  constructor(provider: AadTokenProvider, settings: MiddlewareSettings, failureCooldownMs: number) {
    this.provider = provider;
    this.settings = settings;
    this.header = settings.header;
    this.fallbackRetryAfterSeconds = Math.ceil(failureCooldownMs / 1000);
  }

  /**
   * Removes what must not reach the backend (the client's own credentials, in headers
   * and in an `access_token` query parameter) and picks the request's target.
   * Throws `ERR_INVALID_TARGET` for a bad per-request target.
   */
  prepare(req: IncomingMessage): TargetState {
    const headers = req.headers;
    const removed = this.settings.removeHeaders;
    for (let i = 0; i < removed.length; i++) delete headers[removed[i]!];
    const url = req.url;
    if (url !== undefined && url.includes('?')) stripTokenFromUrls(req as IncomingMessage & { originalUrl?: string });
    return this.provider.stateFor(req);
  }
}

/** Removes `access_token` query parameters from `req.url` and Express's `originalUrl`. */
export function stripTokenFromUrls(req: IncomingMessage & { originalUrl?: string }): void {
  const url = withoutAccessToken(req.url!);
  if (url !== undefined) req.url = url;
  // Express keeps the full URL apart; some proxies (http-proxy-middleware 2) forward that one.
  if (typeof req.originalUrl === 'string') {
    const original = withoutAccessToken(req.originalUrl);
    if (original !== undefined) req.originalUrl = original;
  }
}

const gateways = new WeakMap<object, TokenGateway>();

export function registerGateway(entryPoint: object, gateway: TokenGateway): void {
  gateways.set(entryPoint, gateway);
}

/** The gateway a middleware made by `aadBackendAuth` was built from. */
export function gatewayOf(entryPoint: unknown): TokenGateway | undefined {
  return typeof entryPoint === 'function' ? gateways.get(entryPoint) : undefined;
}
