import type { IncomingMessage, ServerResponse } from 'node:http';
import { TokenGateway } from '../gateway/token-gateway.js';
import { UserTokenProvider } from '../gateway/user-token-provider.js';
import { parseOnBehalfOfOptions } from '../options/on-behalf-of-options.js';
import type { AadOnBehalfOfMiddleware, AadOnBehalfOfOptions } from '../options/on-behalf-of-types.js';
import { UserTokenValidator } from '../subjects/user-token/user-token-validator.js';
import { DEFAULT_PURGE_COOLDOWN_MS } from '../options/middleware-options.js';
import { gatewayRules } from '../options/gateway-rules.js';
import type { TokenTarget } from '../grants/token-source.js';
import { UserSubject } from '../subjects/user-subject.js';
import { AadTokenProvider } from '../provider/token-provider.js';
import { httpMiddleware } from './http-middleware.js';

/**
 * Express middleware that calls the backend as the signed-in user: it validates the
 * user's token locally (jose, RS256, the issuer's JWKS), exchanges it with Entra's
 * on-behalf-of flow (or RFC 8693 token exchange) for a delegated token, caches that per
 * user token with single flight, and sets `Authorization: Bearer <delegated token>`.
 * The user's own token never reaches the backend. Pass it to `withBackendToken` for
 * WebSocket upgrades, and to `createAuthFetch` for calls from your own code.
 *
 * @example
 * app.use('/api/me',
 *   aadOnBehalfOf({ tenantId, clientId, clientSecret, scope: 'api://orders/Orders.Read' }),
 *   createProxyMiddleware({ target: ORDERS_URL, changeOrigin: true }));
 */
export function aadOnBehalfOf<Req extends IncomingMessage = IncomingMessage, Res extends ServerResponse = ServerResponse>(
  options: AadOnBehalfOfOptions<Req, Res>,
): AadOnBehalfOfMiddleware<Req, Res> {
  const settings = parseOnBehalfOfOptions(options);
  const { logger } = settings;
  const provider = new AadTokenProvider(settings.provider);
  const validator = new UserTokenValidator<TokenTarget>({ ...settings.validator, build: settings.targetFor });
  const subject = new UserSubject(provider, validator, settings.readUserToken, logger);
  const rules = gatewayRules({ ...settings, purgeCooldownMs: DEFAULT_PURGE_COOLDOWN_MS }, settings.provider);
  const gateway = new TokenGateway(provider, subject, rules);
  const tokenProvider = new UserTokenProvider(gateway, 'aadOnBehalfOf');
  return httpMiddleware(gateway, tokenProvider, settings.onError, 'aadOnBehalfOfMiddleware') as unknown as AadOnBehalfOfMiddleware<Req, Res>;
}
