import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { invalidOption, toAadBackendAuthError } from './core/errors.js';
import { gatewayOf, type TokenGateway } from './gateway.js';
import { aadBackendAuth } from './middleware.js';
import { retryAfterFor, sendProblem } from './http/problem.js';
import type { TargetState } from './provider/target-state.js';
import type { AadBackendAuthMiddleware, AadBackendAuthOptions, TokenProvider } from './core/types.js';

/**
 * A `server.on('upgrade')` listener made by {@link withBackendToken}. It also
 * exposes the provider it uses (the middleware's, when it was given one), for
 * `stats()` and `close()`.
 */
export interface BackendTokenUpgradeHandler {
  (req: IncomingMessage, socket: Duplex, head: Buffer): void;
  readonly tokenProvider: TokenProvider;
}

/**
 * What {@link withBackendToken} hands the upgrade to, typically http-proxy-middleware's
 * `proxy.upgrade`. Node's `upgrade` event gives a `Duplex`; for `http` and `https`
 * servers it is a `net.Socket` (or `tls.TLSSocket`), which is what proxies declare.
 */
export type UpgradeHandler<S extends Duplex = Duplex> = (req: IncomingMessage, socket: S, head: Buffer) => unknown;

/** Swallows socket errors (a client reset) while this module owns the socket; the socket destroys itself. */
function ignoreSocketError(): void {}

function gatewayFor(optionsOrMiddleware: unknown): TokenGateway {
  if (typeof optionsOrMiddleware === 'function') {
    const gateway = gatewayOf(optionsOrMiddleware);
    if (gateway === undefined) throw invalidOption('optionsOrMiddleware', 'must be options or a middleware made by aadBackendAuth()');
    return gateway;
  }
  // Options: one middleware, built once; same options, same key, so it shares flights and the default store with the HTTP route.
  return gatewayOf(aadBackendAuth(optionsOrMiddleware as AadBackendAuthOptions))!;
}

/**
 * Puts the backend token on WebSocket (and other HTTP `Upgrade`) requests, which
 * never pass through Express middleware. The returned `(req, socket, head)`
 * listener removes `removeHeaders` (a client's own `Authorization` included),
 * sets the token header from the same cache and single flight as the HTTP
 * route, and then calls `upgradeHandler`.
 *
 * When no token can be had it answers on the socket itself, as the middleware
 * would: `400` for a bad per-request target (`ERR_INVALID_TARGET`), `502` when
 * the IdP refused, `503` with `Retry-After` when it is unavailable, each with
 * `Connection: close` and a small `application/problem+json` body, and then
 * destroys the socket. The upgrade is never forwarded without a token. The
 * middleware's `onError` is not used here: there is no response object.
 *
 * Pass the middleware itself when you have one, so that both entry points use
 * one provider (one `stats()`, one `close()`). Given options, it builds its own
 * with `aadBackendAuth(options)`, once.
 *
 * Leave http-proxy-middleware's `ws` option off. With `ws: true` the proxy
 * subscribes to the server's `upgrade` event by itself on the first HTTP request
 * it handles, and from then on upgrades reach the backend without the token.
 *
 * Upgrade requests are bare `IncomingMessage`s: per-request `tenantId`,
 * `resource` or `scope` functions get no Express properties (`originalUrl`,
 * `params`), and `req.url` holds the full path, mount path included.
 *
 * @param optionsOrMiddleware - a middleware made by `aadBackendAuth`, or its options
 * @param upgradeHandler - what gets the upgrade once the token is set, e.g. `proxy.upgrade`
 *
 * @example
 * const auth = aadBackendAuth({ tenantId, clientId, clientSecret, resource: 'api://hub' });
 * const proxy = createProxyMiddleware({ target: HUB_URL, changeOrigin: true }); // ws left off
 * app.use('/ws', auth, proxy);
 * const server = app.listen(3000);
 * server.on('upgrade', withBackendToken(auth, proxy.upgrade));
 */
export function withBackendToken<S extends Duplex = Duplex>(
  optionsOrMiddleware: AadBackendAuthOptions<IncomingMessage, ServerResponse> | AadBackendAuthMiddleware<never, never>,
  upgradeHandler: UpgradeHandler<S>,
): BackendTokenUpgradeHandler {
  if (typeof upgradeHandler !== 'function') throw invalidOption('upgradeHandler', 'must be a function (req, socket, head), such as proxy.upgrade');
  const gateway = gatewayFor(optionsOrMiddleware);
  const { provider, header } = gateway;

  function refuse(socket: Duplex, error: unknown): void {
    const failure = toAadBackendAuthError(error);
    socket.on('error', ignoreSocketError);
    sendProblem(socket, failure, retryAfterFor(failure, gateway.fallbackRetryAfterSeconds));
  }

  function withBackendTokenUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    let target: TargetState;
    try {
      target = gateway.prepare(req);
    } catch (error) {
      refuse(socket, error);
      return;
    }
    const cached = provider.cachedToken(target);
    if (cached !== undefined) {
      req.headers[header] = cached.authorization;
      upgradeHandler(req, socket as S, head);
      return;
    }
    // Node removes its own error listener from upgraded sockets: without ours, a client reset while we wait would crash the process.
    socket.on('error', ignoreSocketError);
    // A handler that throws here surfaces as an unhandled rejection, as it would have thrown out of 'upgrade' on the hot path.
    void provider.acquireToken(target).then(
      (token) => {
        socket.off('error', ignoreSocketError);
        // The client went away while the token was fetched.
        if (socket.destroyed || socket.writableEnded) {
          socket.destroy();
          return;
        }
        req.headers[header] = token.authorization;
        try {
          upgradeHandler(req, socket as S, head);
        } catch (error) {
          socket.destroy();
          throw error;
        }
      },
      (error: unknown) => {
        socket.off('error', ignoreSocketError);
        refuse(socket, error);
      },
    );
  }

  Object.defineProperty(withBackendTokenUpgrade, 'tokenProvider', { value: provider as TokenProvider, enumerable: false });
  return withBackendTokenUpgrade as BackendTokenUpgradeHandler;
}
