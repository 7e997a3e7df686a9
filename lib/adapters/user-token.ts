import type { IncomingMessage, ServerResponse } from 'node:http';
import { TokenGateway } from '../gateway/token-gateway.js';
import { UserTokenProvider } from '../gateway/user-token-provider.js';
import { gatewayRules } from '../options/gateway-rules.js';
import { DEFAULT_PURGE_COOLDOWN_MS } from '../options/middleware-options.js';
import { parseUserTokenOptions } from '../options/user-token-options.js';
import { ledgerFor } from '../subjects/session/ledger.js';
import { SessionRedeemer } from '../subjects/session/redeem.js';
import type { AadUserTokenMiddleware, AadUserTokenOptions } from '../options/user-token-types.js';
import { SessionSubject } from '../subjects/session-subject.js';
import { AadTokenProvider } from '../provider/token-provider.js';
import { httpMiddleware } from './http-middleware.js';

/**
 * Express middleware for cookie BFFs: it forwards the signed-in user's own access token from the
 * server-side session (or one for `scope`, obtained with the user's refresh token), refreshing it
 * when needed, with one redemption per refresh token across the process (and, with a shared
 * `cache`, the fleet), so rotating refresh tokens with reuse detection never sign the user out.
 * Every request must carry the anti-forgery header (`x-csrf: 1` by default). The package reads
 * and writes the session only through `session`.
 *
 * @example express-session, tokens stored at sign-in
 * app.use('/api/me',
 *   aadUserToken({
 *     tenantId, clientId, clientSecret,
 *     scope: 'api://orders/Orders.Read',
 *     session: {
 *       get: (req) => req.session.tokens,
 *       set: (req, tokens) => { req.session.tokens = tokens; },
 *       clear: (req) => { delete req.session.tokens; },
 *     },
 *   }),
 *   createProxyMiddleware({ target: ORDERS_URL, changeOrigin: true }));
 */
export function aadUserToken<Req extends IncomingMessage = IncomingMessage, Res extends ServerResponse = ServerResponse>(
  options: AadUserTokenOptions<Req, Res>,
): AadUserTokenMiddleware<Req, Res> {
  const settings = parseUserTokenOptions(options);
  const { logger, provider: providerSettings } = settings;
  const provider = new AadTokenProvider(providerSettings);
  const ledger = ledgerFor(providerSettings.cache);
  const redeemer = new SessionRedeemer({
    grant: settings.grant,
    ledger,
    logger,
    timeoutMs: providerSettings.timeoutMs,
    refreshWindowMs: providerSettings.refreshWindowMs,
    accessKey: (family) => settings.targetFor(family).key,
  });
  const subject = new SessionSubject(provider, {
    session: settings.session,
    scope: settings.scope,
    ledger,
    redeemer,
    targetFor: settings.targetFor,
    maxUsers: settings.maxUsers,
    failureCooldownMs: providerSettings.failureCooldownMs,
    timeoutMs: providerSettings.timeoutMs,
    logger,
  });
  const rules = gatewayRules({ ...settings, purgeCooldownMs: DEFAULT_PURGE_COOLDOWN_MS }, providerSettings);
  const gateway = new TokenGateway(provider, subject, rules);
  const tokenProvider = new UserTokenProvider(gateway, 'aadUserToken');
  return httpMiddleware(gateway, tokenProvider, settings.onError, 'aadUserTokenMiddleware') as unknown as AadUserTokenMiddleware<Req, Res>;
}
