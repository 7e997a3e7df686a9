import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { invalidOption } from '../core/errors.js';
import type { Outlet } from '../gateway/token-gateway.js';
import type { AadOnBehalfOfMiddleware } from '../options/on-behalf-of-types.js';
import { sendProblem } from '../http/problem.js';
import type { AadBackendAuthMiddleware, TokenProvider } from '../core/types.js';
import type { AadBackendAuthOptions } from '../options/types.js';
import type { AadUserTokenMiddleware } from '../options/user-token-types.js';
import { aadBackendAuth } from './backend-auth.js';
import { gatewayOf } from './http-middleware.js';

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

const MIDDLEWARE_PROBLEM = 'must be options or a middleware made by aadBackendAuth(), aadOnBehalfOf() or aadUserToken()';

/**
 * Puts the backend token on WebSocket (and other HTTP `Upgrade`) requests, which
 * never pass through Express middleware. The returned `(req, socket, head)`
 * listener removes `removeHeaders` (a client's own `Authorization` included),
 * sets the token header from the same cache and single flight as the HTTP
 * route, and then calls `upgradeHandler`.
 *
 * Given an `aadOnBehalfOf` middleware, each upgrade carries its user's delegated token:
 * the user token is read from the upgrade request (its `Authorization: Bearer` header, or
 * `userToken(req)`) and validated and exchanged as on HTTP, sharing one exchange with HTTP
 * requests of the same user token. Upgrade requests are bare `IncomingMessage`s: a `userToken`
 * function gets no `req.session`.
 *
 * When no token can be had it answers on the socket itself, as the middleware
 * would: `400` for a bad per-request target (`ERR_INVALID_TARGET`), `401` with a
 * `WWW-Authenticate` challenge for a missing or invalid user token, `502` when
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
 * With anti-forgery on (`aadUserToken`, `aadOnBehalfOf` with `userToken`), an upgrade cannot
 * carry the header: it must come from an `Origin` in the middleware's `allowedOrigins`, or it
 * is refused with `403 ERR_ANTIFORGERY` on the socket. Such a middleware without
 * `allowedOrigins` is refused here, at start-up. `aadUserToken`'s `session.get` (and `set`,
 * after a refresh) get the bare upgrade request: load the session from its cookie yourself.
 *
 * Upgrade requests are bare `IncomingMessage`s: per-request `tenantId`,
 * `resource` or `scope` functions get no Express properties (`originalUrl`,
 * `params`), and `req.url` holds the full path, mount path included.
 *
 * @param optionsOrMiddleware - a middleware made by `aadBackendAuth` or `aadOnBehalfOf`, or `aadBackendAuth` options
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
  optionsOrMiddleware:
    | AadBackendAuthOptions<IncomingMessage, ServerResponse>
    | AadBackendAuthMiddleware<never, never>
    | AadOnBehalfOfMiddleware<never, never>
    | AadUserTokenMiddleware<never, never>,
  upgradeHandler: UpgradeHandler<S>,
): BackendTokenUpgradeHandler {
  if (typeof upgradeHandler !== 'function') throw invalidOption('upgradeHandler', 'must be a function (req, socket, head), such as proxy.upgrade');
  // Options: one middleware, built once; same options, same key, so it shares flights and the default store with the HTTP route.
  const middleware = typeof optionsOrMiddleware === 'function' ? optionsOrMiddleware : aadBackendAuth(optionsOrMiddleware as AadBackendAuthOptions);
  const gateway = gatewayOf(middleware);
  if (gateway === undefined) throw invalidOption('optionsOrMiddleware', MIDDLEWARE_PROBLEM);
  const { header, antiForgery } = gateway.rules;
  // An upgrade cannot carry the anti-forgery header: without allowed origins every one would be refused.
  if (antiForgery !== undefined && antiForgery.allowedOrigins === undefined) {
    throw invalidOption('allowedOrigins', 'is required on a middleware with anti-forgery on that handles upgrades: WebSocket upgrades are checked by their Origin');
  }

  const outlet: Outlet<Duplex, Buffer> = {
    strips: true,
    upgrade: true,
    deliver(req, headers, socket, head, _state, token) {
      socket.off('error', ignoreSocketError);
      (headers ?? req.headers)[header] = token.authorization;
      upgradeHandler(req, socket as S, head);
    },
    refuse(_req, socket, _head, error) {
      sendProblem(socket, error, gateway.retryAfter(error));
    },
    gone(socket) {
      // The client went away while the token was fetched.
      if (!socket.destroyed && !socket.writableEnded) return false;
      socket.destroy();
      return true;
    },
    crashed(socket, _head, error) {
      // A handler that throws after a wait surfaces as an unhandled rejection, as it would have thrown out of 'upgrade' on the hot path.
      socket.destroy();
      throw error;
    },
  };

  function withBackendTokenUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    // Node removes its own error listener from upgraded sockets: without ours, a client reset while we wait would crash the process.
    socket.on('error', ignoreSocketError);
    gateway!.serve(req, socket, head, outlet);
  }

  Object.defineProperty(withBackendTokenUpgrade, 'tokenProvider', { value: (middleware as { tokenProvider: TokenProvider }).tokenProvider, enumerable: false });
  return withBackendTokenUpgrade as BackendTokenUpgradeHandler;
}
