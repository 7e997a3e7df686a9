import type { Request, RequestHandler, Response } from 'express';
// In your own app: `from 'aad-backend-auth'`.
import { AadBackendAuthError, createAuthFetch, type AadBackendAuthMiddleware } from '../lib/index.js';

/**
 * `GET /_bff/summary`: a route handler of the BFF's own that calls the backend twice
 * and answers with one page model. `createAuthFetch(auth)` shares the middleware's
 * provider, so these calls use the same cached token as `/api/*`, and a 401 from the
 * backend is retried once with a new token.
 */
export function createSummaryRoute(auth: AadBackendAuthMiddleware, backendUrl: string): RequestHandler {
  const backendFetch = createAuthFetch(auth);
  const base = backendUrl.replace(/\/+$/, '');

  async function getJson(path: string): Promise<{ status: number; body: Record<string, unknown> }> {
    const res = await backendFetch(`${base}${path}`, { headers: { accept: 'application/json' } });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  return (_req: Request, res: Response): void => {
    Promise.all([getJson('/whoami'), getJson('/orders')]).then(
      ([whoami, orders]) => {
        const failed = [whoami, orders].find((answer) => answer.status !== 200);
        if (failed !== undefined) {
          res.status(502).set('Cache-Control', 'no-store').json({ error: 'backend_error', backendStatus: failed.status });
          return;
        }
        const claims = (whoami.body['claims'] ?? {}) as Record<string, unknown>;
        const list = Array.isArray(orders.body['orders']) ? (orders.body['orders'] as unknown[]) : [];
        res.set('Cache-Control', 'no-store').json({ caller: { appid: claims['appid'], roles: claims['roles'] ?? [] }, orderCount: list.length, orders: list });
      },
      (error: unknown) => {
        // No token could be had: the same codes as the middleware; a network error to the backend is a 502.
        const status = error instanceof AadBackendAuthError ? error.status : 502;
        const code = error instanceof AadBackendAuthError ? error.code : 'ERR_BACKEND_UNREACHABLE';
        res.status(status).type('application/problem+json').set('Cache-Control', 'no-store').send(JSON.stringify({ type: 'about:blank', status, code }));
      },
    );
  };
}
