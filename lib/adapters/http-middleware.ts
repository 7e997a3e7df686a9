import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AadBackendAuthError } from '../core/errors.js';
import type { IssuedToken, Outlet, TokenGateway } from '../gateway/token-gateway.js';
import { sendProblem } from '../http/problem.js';
import { ResponseWatch } from '../http/response-watch.js';
import type { TokenProvider } from '../core/types.js';
import type { ErrorHandler } from '../options/types.js';

type Next = (err?: unknown) => void;

/** An Express-compatible middleware over a gateway, carrying that gateway and its `tokenProvider`. */
export interface GatewayMiddleware {
  (req: IncomingMessage, res: ServerResponse, next: Next): void;
  readonly tokenProvider: TokenProvider;
  readonly gateway: TokenGateway;
}

/** The gateway a middleware made by this package carries, if `value` is one. */
export function gatewayOf(value: unknown): TokenGateway | undefined {
  return typeof value === 'function' ? (value as Partial<GatewayMiddleware>).gateway : undefined;
}

/**
 * The HTTP entry point: the token goes on `req.headers` and `next()` hands the request on (to the
 * proxy); a failure is answered with problem+json, or by `onError`. After the response, a
 * `purgeOnStatus` status evicts the token the request carried.
 */
export function httpMiddleware(gateway: TokenGateway, tokenProvider: TokenProvider, onError: ErrorHandler | undefined, name: string): GatewayMiddleware {
  const { header, purgeOnStatus, logger } = gateway.rules;
  const evictOnStatus = purgeOnStatus.length > 0;

  // Any such status counts, whoever wrote it: see "Security model" in the README.
  const backend = evictOnStatus
    ? new ResponseWatch<IssuedToken>((res, { state, token }) => {
        const status = res.statusCode;
        if (!purgeOnStatus.includes(status)) return;
        try {
          gateway.backendRefused(state, token, status, res.getHeader('www-authenticate'));
        } catch {
          // A claims challenge only the user can meet: the token is evicted; this response is already sent.
        }
      })
    : undefined;
  if (backend !== undefined) gateway.provider.closeSignal.addEventListener('abort', () => backend.close(), { once: true });

  const outlet: Outlet<ServerResponse, Next> = {
    strips: true,
    deliver(req, headers, res, next, state, token) {
      (headers ?? req.headers)[header] = token.authorization;
      if (backend !== undefined) backend.watch(req, res, { state, token });
      next();
    },
    refuse(req, res, next, error: AadBackendAuthError) {
      if (error.status === 401 || error.status === 403) logger.debug(`request refused [${error.code}]: ${error.message}`);
      if (onError !== undefined) {
        onError(error, req, res, next);
        return;
      }
      sendProblem(res, error, gateway.retryAfter(error));
    },
    // Something else answered while the token was fetched (a timeout middleware, say).
    gone: (res) => res.writableEnded,
    crashed: (_res, next, error) => next(error),
  };

  const middleware = {
    [name](req: IncomingMessage, res: ServerResponse, next: Next): void {
      gateway.serve(req, res, next, outlet);
    },
  }[name]!;
  Object.defineProperty(middleware, 'tokenProvider', { value: tokenProvider, enumerable: false });
  Object.defineProperty(middleware, 'gateway', { value: gateway, enumerable: false });
  return middleware as GatewayMiddleware;
}
