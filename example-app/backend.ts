import express, { type Express, type Request, type Response } from 'express';
import { requireBearer, requireRole, type BearerAuthOptions, type VerifiedToken } from './bearer-auth.js';

/** Options of {@link createBackendApp}: how tokens are checked, and which app roles guard which route. */
export interface BackendOptions extends BearerAuthOptions {
  /** The app role `GET /orders` needs. @default 'Orders.Read' */
  readonly requiredRole?: string;
  /** The app role `GET /admin` needs; the example's client is not granted it. @default 'Orders.Admin' */
  readonly adminRole?: string;
  /** Gets one line per request (method, path, status, calling app). @default no logging */
  readonly log?: (line: string) => void;
}

const ORDERS = [
  { id: 'SO-1001', item: 'Espresso beans, 1 kg', quantity: 2, status: 'shipped' },
  { id: 'SO-1002', item: 'Burr grinder', quantity: 1, status: 'packing' },
  { id: 'SO-1003', item: 'Milk jug, 600 ml', quantity: 3, status: 'ordered' },
];

function verified(res: Response): VerifiedToken {
  return res.locals['auth'] as VerifiedToken;
}

/**
 * The sample resource server: every route but `/healthz` needs a valid Entra
 * ID access token, and some need an app role.
 *
 * - `GET /whoami`: the claims as verified (any valid token);
 * - `GET /orders`: sample data, needs `requiredRole`;
 * - `GET /admin`: needs `adminRole`, so the example's client gets 403.
 */
export function createBackendApp(options: BackendOptions): Express {
  const requiredRole = options.requiredRole ?? 'Orders.Read';
  const adminRole = options.adminRole ?? 'Orders.Admin';
  const realm = options.realm ?? 'aad-backend-auth-example';
  const app = express();
  app.disable('x-powered-by');

  if (options.log !== undefined) {
    const log = options.log;
    app.use((req, res, next) => {
      res.on('finish', () => {
        const appId = (res.locals['auth'] as VerifiedToken | undefined)?.claims['appid'];
        log(`${req.method} ${req.originalUrl} → ${res.statusCode}${typeof appId === 'string' ? ` (app ${appId})` : ''}`);
      });
      next();
    });
  }

  app.get('/healthz', (_req, res) => {
    res.json({ ok: true });
  });

  app.use(requireBearer(options));

  app.get('/whoami', (_req: Request, res: Response) => {
    const { claims, algorithm, keyId } = verified(res);
    res.set('Cache-Control', 'no-store').json({
      claims,
      verification: {
        algorithm,
        keyId,
        issuer: claims.iss,
        audience: claims.aud,
        checked: ['signature', 'iss', 'aud', 'exp', 'nbf'],
      },
      requiredRoles: { '/orders': requiredRole, '/admin': adminRole },
    });
  });

  app.get('/orders', requireRole(requiredRole, realm), (_req, res) => {
    res.set('Cache-Control', 'no-store').json({ orders: ORDERS, grantedBy: requiredRole });
  });

  app.get('/admin', requireRole(adminRole, realm), (_req, res) => {
    res.set('Cache-Control', 'no-store').json({ ok: true, grantedBy: adminRole });
  });

  app.use((req, res) => {
    res.status(404).json({ error: 'not_found', error_description: `The sample backend has no route ${req.method} ${req.path}.` });
  });
  return app;
}
