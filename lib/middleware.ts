import type { IncomingMessage, ServerResponse } from 'node:http';
import { evictRejectedToken } from './clients/evict-rejected-token.js';
import { toAadBackendAuthError, type AadBackendAuthError } from './core/errors.js';
import { TokenGateway, registerGateway } from './gateway.js';
import { parseMiddlewareOptions } from './options/middleware-options.js';
import { retryAfterFor, sendProblem } from './http/problem.js';
import type { ProviderToken } from './provider/provider-token.js';
import type { TargetState } from './provider/target-state.js';
import { AadTokenProvider } from './provider/token-provider.js';
import type { AadBackendAuthMiddleware, AadBackendAuthOptions, TokenProvider } from './core/types.js';

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
  const gateway = new TokenGateway(provider, settings.middleware, settings.provider.failureCooldownMs);
  const { header, onError, purgeOnStatus, purgeCooldownMs } = settings.middleware;
  const evictOnStatus = purgeOnStatus.length > 0;

  function forward(req: IncomingMessage, res: ServerResponse, target: TargetState, token: ProviderToken, next: (err?: unknown) => void): void {
    req.headers[header] = token.authorization;
    if (evictOnStatus) {
      // A closure, never a property on `res`: Express has swapped the prototype of `res`, so a new
      // property gives every response its own hidden class (microseconds each, and slower access
      // to `res` everywhere after). 'finish' fires once, so `on` spares the wrapper of `once`.
      // Any such status counts, whoever wrote it: see "Security model" in the README.
      res.on('finish', () => {
        if (purgeOnStatus.includes(res.statusCode)) evictRejectedToken(provider, target, token, res.statusCode, res.getHeader('www-authenticate'), purgeCooldownMs);
      });
    }
    next();
  }

  function fail(error: AadBackendAuthError, req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void): void {
    if (onError !== undefined) {
      onError(error, req, res, next);
      return;
    }
    sendProblem(res, error, retryAfterFor(error, gateway.fallbackRetryAfterSeconds));
  }

  function aadBackendAuthMiddleware(req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void): void {
    let target: TargetState;
    try {
      target = gateway.prepare(req);
    } catch (error) {
      fail(toAadBackendAuthError(error), req, res, next);
      return;
    }
    const cached = provider.cachedToken(target);
    if (cached !== undefined) {
      forward(req, res, target, cached, next);
      return;
    }
    provider.acquireToken(target).then(
      (token) => {
        // Something else answered while the token was fetched (a timeout middleware, say).
        if (res.writableEnded) return;
        forward(req, res, target, token, next);
      },
      (error: unknown) => fail(toAadBackendAuthError(error), req, res, next),
    ).catch(next);
  }

  Object.defineProperty(aadBackendAuthMiddleware, 'tokenProvider', { value: provider as TokenProvider<Req>, enumerable: false });
  registerGateway(aadBackendAuthMiddleware, gateway);
  return aadBackendAuthMiddleware as unknown as AadBackendAuthMiddleware<Req, Res>;
}
