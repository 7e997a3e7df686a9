import { randomBytes } from 'node:crypto';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import session from 'express-session';
import { createProxyMiddleware } from 'http-proxy-middleware';
// Relative imports of the package source, so `npm ci && npm start` needs no build.
// In your own app: `from 'aad-backend-auth'` and `from 'aad-backend-auth/testing'`.
import { aadOnBehalfOf, type AadBackendAuthLogger, type AadOnBehalfOfMiddleware } from '../lib/index.js';
import type { EntraEmulator } from '../lib/testing/index.js';
import { LruSessionStore } from './session-store.js';

declare module 'express-session' {
  interface SessionData {
    /** The user's access token for the BFF: kept here, server-side, never sent to the browser. */
    userToken: string;
    userName: string;
  }
}

/** The two emulated users of the demo. */
export const DEMO_USERS = {
  alice: { name: 'Alice Example', oid: '6f1d2c3b-0000-4000-8000-00000000a11c' },
  bob: { name: 'Bob Example', oid: '6f1d2c3b-0000-4000-8000-000000000b0b' },
} as const;

/** The delegated permission `/api/me` asks for on the backend. */
export const ME_SCOPE_PERMISSION = 'Orders.Read';

export interface SignInOptions {
  readonly emulator: EntraEmulator;
  readonly backendUrl: string;
  /** The backend's App ID URI; `/api/me` asks for `<resource>/Orders.Read`. */
  readonly resource: string;
  readonly tenantId: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly logger: AadBackendAuthLogger;
  /** Sessions kept; a sign-in beyond it signs out the least recently used. @default DEFAULT_MAX_SESSIONS (1000) */
  readonly maxSessions?: number;
}

export interface SignIn {
  /** Mount before `/api`: the session routes and `/api/me`. */
  readonly router: Router;
  readonly onBehalfOf: AadOnBehalfOfMiddleware;
  close(): Promise<void>;
}

/** Only `fetch` with a JSON body can sign in or out: a cross-site form cannot. */
function jsonOnly(req: Request, res: Response, next: NextFunction): void {
  if (req.is('application/json') === 'application/json') next();
  else res.status(415).json({ error: 'unsupported_media_type', error_description: 'Send Content-Type: application/json.' });
}

/**
 * Emulated sign-in for the demo: *Sign in as Alice / Bob* mints the user's token with the
 * emulator (where a real BFF would run the authorization-code flow) and keeps it in a
 * server-side session. `/api/me` then calls the backend as that user with `aadOnBehalfOf`,
 * which takes the user token from the session.
 */
export function createSignIn(options: SignInOptions): SignIn {
  const { emulator, backendUrl, resource, tenantId, clientId, clientSecret, logger } = options;
  const sessions = session({
    name: 'bff.sid',
    // A fresh secret per start: the demo's sessions end with the process.
    secret: randomBytes(32).toString('base64url'),
    resave: false,
    saveUninitialized: false,
    // Bounded, unlike the default MemoryStore.
    store: new LruSessionStore({ ...(options.maxSessions !== undefined && { max: options.maxSessions }) }),
    cookie: { httpOnly: true, sameSite: 'strict', secure: false },
  });
  const onBehalfOf = aadOnBehalfOf({
    tenantId,
    clientId,
    clientSecret,
    authorityHost: emulator.url,
    scope: `${resource}/${ME_SCOPE_PERMISSION}`,
    userToken: (req) => (req as Request).session?.userToken,
    removeHeaders: ['cookie'],
    logger,
  });

  const router = express.Router();
  router.use(['/_bff/session', '/api/me'], sessions);

  router.get('/_bff/session', (req, res) => {
    res.set('Cache-Control', 'no-store').json({ signedIn: req.session.userToken !== undefined, name: req.session.userName ?? null });
  });

  router.post('/_bff/session/sign-in/:user', jsonOnly, (req, res, next) => {
    const user = DEMO_USERS[req.params['user'] as keyof typeof DEMO_USERS];
    if (user === undefined) {
      res.status(404).json({ error: 'unknown_user', error_description: 'Sign in as alice or bob.' });
      return;
    }
    emulator
      .issueUserToken({ oid: user.oid, name: user.name, scp: 'access_as_user', aud: `api://${clientId}` })
      .then((userToken) => {
        // A new session id on sign-in, so a session fixed before it is worth nothing.
        req.session.regenerate((error) => {
          if (error) return next(error);
          req.session.userToken = userToken;
          req.session.userName = user.name;
          res.set('Cache-Control', 'no-store').json({ signedIn: true, name: user.name });
        });
      }, next);
  });

  router.post('/_bff/session/sign-out', jsonOnly, (req, res, next) => {
    req.session.destroy((error) => {
      if (error) return next(error);
      res.clearCookie('bff.sid').json({ signedIn: false });
    });
  });

  // The delegated call: the backend's /whoami, as the signed-in user.
  router.use(
    '/api/me',
    onBehalfOf as unknown as express.RequestHandler,
    createProxyMiddleware({ target: backendUrl, changeOrigin: true, pathRewrite: () => '/whoami' }),
  );

  return { router, onBehalfOf, close: () => onBehalfOf.tokenProvider.close() };
}
