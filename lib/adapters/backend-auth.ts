import type { IncomingMessage, ServerResponse } from 'node:http';
import { TokenGateway } from '../gateway/token-gateway.js';
import { gatewayRules } from '../options/gateway-rules.js';
import { parseMiddlewareOptions } from '../options/middleware-options.js';
import { AppSubject } from '../subjects/app-subject.js';
import { AadTokenProvider } from '../provider/token-provider.js';
import type { AadBackendAuthMiddleware } from '../core/types.js';
import type { AadBackendAuthOptions } from '../options/types.js';
import { httpMiddleware } from './http-middleware.js';

/** The app's gateway for a set of `aadBackendAuth` options, and what its entry points need besides. */
export function appGateway(options: unknown): { gateway: TokenGateway; provider: AadTokenProvider; onError: AadBackendAuthOptions['onError'] } {
  const settings = parseMiddlewareOptions(options);
  const provider = new AadTokenProvider(settings.provider);
  const rules = gatewayRules(settings.middleware, settings.provider);
  return { gateway: new TokenGateway(provider, new AppSubject(provider), rules), provider, onError: settings.middleware.onError };
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
  const { gateway, provider, onError } = appGateway(options);
  return httpMiddleware(gateway, provider, onError, 'aadBackendAuthMiddleware') as unknown as AadBackendAuthMiddleware<Req, Res>;
}
