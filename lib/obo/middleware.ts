import type { IncomingMessage, ServerResponse } from 'node:http';
import { toAadBackendAuthError, type AadBackendAuthError } from '../core/errors.js';
import { stripTokenFromUrls } from '../gateway.js';
import { retryAfterFor, sendProblem } from '../http/problem.js';
import type { ProviderToken } from '../provider/provider-token.js';
import type { TokenTarget } from '../grants/token-source.js';
import { AadTokenProvider } from '../provider/token-provider.js';
import type { TokenProvider } from '../core/types.js';
import { OnBehalfOfTokenProvider } from './on-behalf-of-provider.js';
import { parseOnBehalfOfOptions } from '../options/on-behalf-of-options.js';
import type { AadOnBehalfOfMiddleware, AadOnBehalfOfOptions } from '../options/on-behalf-of-types.js';
import { userTokenInvalid, userTokenMissing } from '../core/user-errors.js';
import { UserTokenValidator } from '../subjects/user-token/user-token-validator.js';

/** What tests and benchmarks may look at: the validator, to count RS256 verifications. */
export interface OnBehalfOfInternals {
  readonly validator: UserTokenValidator<TokenTarget>;
}
const internals = new WeakMap<object, OnBehalfOfInternals>();

export function onBehalfOfInternals(middleware: unknown): OnBehalfOfInternals | undefined {
  return typeof middleware === 'function' ? internals.get(middleware) : undefined;
}

/** Failed retries are worth trying again this soon, as with app tokens. */
const FALLBACK_RETRY_AFTER_SECONDS = 2;

/**
 * Express middleware that calls the backend as the signed-in user: it validates the
 * user's token locally (jose, RS256, the issuer's JWKS), exchanges it with Entra's
 * on-behalf-of flow (or RFC 8693 token exchange) for a delegated token, caches that per
 * user token with single flight, and sets `Authorization: Bearer <delegated token>`.
 * The user's own token never reaches the backend.
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
  const { header, removeHeaders, onError, readUserToken, targetFor, logger } = settings;
  const provider = new AadTokenProvider(settings.provider);
  const validator = new UserTokenValidator<TokenTarget>({ ...settings.validator, build: targetFor });
  const tokenProvider = new OnBehalfOfTokenProvider(provider, validator, readUserToken, header);

  function fail(error: AadBackendAuthError, req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void): void {
    if (error.status === 401 || error.status === 403) logger.debug(`user request refused [${error.code}]: ${error.message}`);
    if (onError !== undefined) {
      onError(error, req, res, next);
      return;
    }
    sendProblem(res, error, retryAfterFor(error, FALLBACK_RETRY_AFTER_SECONDS));
  }

  function forward(req: IncomingMessage, res: ServerResponse, token: ProviderToken, next: (err?: unknown) => void): void {
    // The user token may have expired while the exchange ran: its exchanged token must not outlive it.
    if (Date.now() >= token.useUntilTimestamp) {
      fail(userTokenInvalid('expired'), req, res, next);
      return;
    }
    req.headers[header] = token.authorization;
    next();
  }

  function withUser(req: IncomingMessage, res: ServerResponse, target: TokenTarget, next: (err?: unknown) => void): void {
    tokenProvider.remember(req, target);
    const slot = provider.stateForTarget(target);
    const cached = provider.cachedToken(slot);
    if (cached !== undefined) {
      forward(req, res, cached, next);
      return;
    }
    provider.acquireToken(slot).then(
      (token) => {
        if (!res.writableEnded) forward(req, res, token, next);
      },
      (error: unknown) => fail(toAadBackendAuthError(error), req, res, next),
    ).catch(next);
  }

  function aadOnBehalfOfMiddleware(req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void): void {
    let userToken: string | undefined;
    try {
      userToken = readUserToken(req);
    } catch {
      userToken = undefined;
      logger.debug('the "userToken" function threw');
    }
    // Read first, then strip: the user's own token never reaches the backend.
    const headers = req.headers;
    for (let i = 0; i < removeHeaders.length; i++) delete headers[removeHeaders[i]!];
    if (req.url?.includes('?') === true) stripTokenFromUrls(req);
    if (userToken === undefined) {
      fail(userTokenMissing('no Authorization: Bearer header or session token'), req, res, next);
      return;
    }
    const validated = validator.cached(userToken);
    if (validated !== undefined) {
      withUser(req, res, validated.value, next);
      return;
    }
    validator.validate(userToken).then(
      (user) => {
        if (!res.writableEnded) withUser(req, res, user.value, next);
      },
      (error: unknown) => fail(toAadBackendAuthError(error), req, res, next),
    ).catch(next);
  }

  Object.defineProperty(aadOnBehalfOfMiddleware, 'tokenProvider', { value: tokenProvider as unknown as TokenProvider<Req>, enumerable: false });
  internals.set(aadOnBehalfOfMiddleware, { validator });
  return aadOnBehalfOfMiddleware as unknown as AadOnBehalfOfMiddleware<Req, Res>;
}
