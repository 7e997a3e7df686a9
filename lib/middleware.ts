import type { IncomingMessage, ServerResponse } from 'node:http';
import { evictRejectedToken } from './clients/evict-rejected-token.js';
import { toAadBackendAuthError, type AadBackendAuthError } from './errors.js';
import { parseMiddlewareOptions } from './options.js';
import { retryAfterFor, sendProblem } from './problem.js';
import type { ProviderToken } from './provider-token.js';
import { AadTokenProvider, type Slot } from './token-provider.js';
import type { AadBackendAuthMiddleware, AadBackendAuthOptions, TokenProvider } from './types.js';

/** What a response needs to know to evict the token its request carried. */
interface PurgeContext {
  readonly provider: AadTokenProvider;
  readonly statuses: readonly number[];
  readonly cooldownMs: number;
}

/** What other entry points (WebSocket upgrades) need from a middleware: its provider and header rules. */
export interface MiddlewareInternals {
  readonly provider: AadTokenProvider;
  readonly header: string;
  readonly fallbackRetryAfterSeconds: number;
  /** The `purgeCooldownMs` option, which `createAuthFetch` and `useAadBackendAuth` follow too. */
  readonly purgeCooldownMs: number;
  /** Removes the inbound headers that must not reach the backend and picks the request's slot; throws `ERR_INVALID_TARGET`. */
  prepare(req: IncomingMessage): Slot;
}
export const kInternals = Symbol('aadBackendAuth.internals');

export function middlewareInternals(middleware: unknown): MiddlewareInternals | undefined {
  return typeof middleware === 'function' ? (middleware as { [kInternals]?: MiddlewareInternals })[kInternals] : undefined;
}
/**
 * Express middleware that sets `Authorization: Bearer <app token>` on each request
 * before a proxy (such as http-proxy-middleware) forwards it. Tokens come from
 * Microsoft Entra ID with the client-credentials grant, or from any `TokenCredential`,
 * and are cached, shared and refreshed ahead of expiry.
 *
 * @example
 * app.use('/api/orders',
 *   aadBackendAuth({ tenantId, clientId, clientSecret, resource: 'api://orders' }),
 *   createProxyMiddleware({ target: ORDERS_URL, changeOrigin: true }));
 *
 * @example Secretless, with a managed identity in Azure and `az login` on a laptop
 * app.use('/api/orders', aadBackendAuth({ credential: new DefaultAzureCredential(), resource: 'api://orders' }), proxy);
 */
export function aadBackendAuth<Req extends IncomingMessage = IncomingMessage, Res extends ServerResponse = ServerResponse>(
  options: AadBackendAuthOptions<Req, Res>,
): AadBackendAuthMiddleware<Req, Res> {
  const settings = parseMiddlewareOptions(options);
  const provider = new AadTokenProvider(settings.provider);
  const { header, removeHeaders, onError } = settings.middleware;
  const purge: PurgeContext | undefined =
    settings.middleware.purgeOnStatus.length === 0
      ? undefined
      : { provider, statuses: settings.middleware.purgeOnStatus, cooldownMs: settings.middleware.purgeCooldownMs };
  const fallbackRetryAfterSeconds = Math.ceil(settings.provider.failureCooldownMs / 1000);

  function forward(req: IncomingMessage, res: ServerResponse, slot: Slot, token: ProviderToken, next: (err?: unknown) => void): void {
    req.headers[header] = token.authorization;
    if (purge !== undefined) {
      // A closure, never a property on `res`: Express has swapped the prototype of `res`, so a new
      // property gives every response its own hidden class (microseconds each, and slower access
      // to `res` everywhere after). 'finish' fires once, so `on` spares the wrapper of `once`.
      res.on('finish', () => {
        if (purge.statuses.includes(res.statusCode)) evictRejectedToken(purge.provider, slot, token, res.statusCode, res.getHeader('www-authenticate'), purge.cooldownMs);
      });
    }
    next();
  }

  function fail(error: AadBackendAuthError, req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void): void {
    if (onError !== undefined) {
      onError(error, req, res, next);
      return;
    }
    sendProblem(res, error, retryAfterFor(error, fallbackRetryAfterSeconds));
  }

  function prepare(req: IncomingMessage): Slot {
    const headers = req.headers;
    for (let i = 0; i < removeHeaders.length; i++) delete headers[removeHeaders[i]!];
    return provider.slotFor(req);
  }

  function aadBackendAuthMiddleware(req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void): void {
    let slot: Slot;
    try {
      slot = prepare(req);
    } catch (error) {
      fail(toAadBackendAuthError(error), req, res, next);
      return;
    }
    const cached = provider.cachedToken(slot);
    if (cached !== undefined) {
      forward(req, res, slot, cached, next);
      return;
    }
    provider.acquireToken(slot).then(
      (token) => {
        // Something else answered while the token was fetched (a timeout middleware, say).
        if (res.writableEnded) return;
        forward(req, res, slot, token, next);
      },
      (error: unknown) => fail(toAadBackendAuthError(error), req, res, next),
    ).catch(next);
  }

  Object.defineProperty(aadBackendAuthMiddleware, 'tokenProvider', { value: provider as TokenProvider<Req>, enumerable: false });
  const internals: MiddlewareInternals = { provider, header, fallbackRetryAfterSeconds, purgeCooldownMs: settings.middleware.purgeCooldownMs, prepare };
  Object.defineProperty(aadBackendAuthMiddleware, kInternals, { value: internals, enumerable: false });
  return aadBackendAuthMiddleware as unknown as AadBackendAuthMiddleware<Req, Res>;
}
