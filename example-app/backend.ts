import express, { type Express, type Request, type Response } from 'express';
import type { EmulatorResource } from '../lib/testing/index.js';
import { requireBearer, requireRole, type BearerAuthOptions, type VerifiedToken } from './bearer-auth.js';

/**
 * The version of tokens the sample API gets. Entra issues v1 tokens to an API
 * whose manifest leaves `accessTokenAcceptedVersion` null, as a new registration does.
 */
export const SAMPLE_API_TOKEN_VERSION = 1 as const;

/** The sample API as the emulator registers it: its App ID URI, v1 tokens, and the app roles granted. */
export function sampleApiRegistration(appIdUri: string, appRoles: Record<string, string[]>): EmulatorResource {
  return { audience: appIdUri, accessTokenVersion: SAMPLE_API_TOKEN_VERSION, appRoles };
}

/** An API registered in Entra ID, as its resource server knows it. */
export interface EntraApi {
  /** The tenant GUID (the `tid` in the issuer). */
  readonly tenantId: string;
  /** The App ID URI, e.g. `api://orders`: the `aud` of v1 tokens asked for by it. */
  readonly appIdUri: string;
  /** The API's application (client) id: the `aud` of v2 tokens. Required for version 2. */
  readonly appId?: string;
  /** The manifest's `accessTokenAcceptedVersion`. @default 1 (Entra's default) */
  readonly accessTokenVersion?: 1 | 2;
  /** Where v2 issuers live. @default 'https://login.microsoftonline.com' */
  readonly authorityHost?: string;
  /** Where v1 issuers live. @default 'sts.windows.net' */
  readonly v1IssuerHost?: string;
}

/**
 * The `iss` and `aud` an API's tokens carry, by its token version: v1 tokens come
 * from `https://sts.windows.net/{tid}/` for the App ID URI, v2 tokens from
 * `{authorityHost}/{tid}/v2.0` for the appId. Entra never mixes the two.
 */
export function entraApiValidation(api: EntraApi): { issuer: string; audience: string } {
  if ((api.accessTokenVersion ?? 1) === 1) {
    return { issuer: `https://${api.v1IssuerHost ?? 'sts.windows.net'}/${api.tenantId}/`, audience: api.appIdUri };
  }
  if (api.appId === undefined) throw new TypeError('entraApiValidation: a v2 API needs its "appId" (the aud of v2 tokens)');
  const authority = (api.authorityHost ?? 'https://login.microsoftonline.com').replace(/\/+$/, '');
  return { issuer: `${authority}/${api.tenantId}/v2.0`, audience: api.appId };
}

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
        // The calling app is `appid` in v1 tokens and `azp` in v2 tokens.
        const claims = (res.locals['auth'] as VerifiedToken | undefined)?.claims;
        const appId = claims?.['appid'] ?? claims?.['azp'];
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
        tokenVersion: claims['ver'],
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
