import { randomBytes } from 'node:crypto';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import session from 'express-session';
import { createProxyMiddleware } from 'http-proxy-middleware';
// Relative imports of the package source, so `npm ci && npm start` needs no build.
// In your own app: `from 'aad-backend-auth'` and `from 'aad-backend-auth/testing'`.
import { aadUserToken, type AadBackendAuthLogger, type AadUserTokenMiddleware, type UserTokens } from '../lib/index.js';
import type { EntraEmulator } from '../lib/testing/index.js';
import { OidcSignIn } from './oidc.js';
import { LruSessionStore } from './session-store.js';

declare module 'express-session' {
  interface SessionData {
    /** The user's tokens: kept here, server-side, never sent to the browser. */
    tokens: UserTokens;
    user: { name: string; username: string };
    signedInAt: number;
    /** When aadUserToken last wrote refreshed tokens to this session. */
    refreshedAt: number;
    refreshes: number;
    /** The IdP refused the refresh token (ERR_USER_SESSION_EXPIRED): the user signs in again. */
    expired: boolean;
  }
}

/** The emulator's two test users; the buttons pick one with `login_hint`. */
export const DEMO_USERS = {
  alice: { username: 'alice@contoso.example', name: 'Alice Example', oid: '6f1d2c3b-0000-4000-8000-00000000a11c' },
  bob: { username: 'bob@contoso.example', name: 'Bob Example', oid: '6f1d2c3b-0000-4000-8000-000000000b0b' },
} as const;

/** The delegated permission `/api/me` asks for on the sample backend. */
export const ME_SCOPE_PERMISSION = 'Orders.Read';
/** Where the IdP sends the browser back; register `http://localhost:3000/auth/callback` in Entra ID. */
export const CALLBACK_PATH = '/auth/callback';

export interface SignInOptions {
  /** The OpenID Connect issuer, e.g. `https://login.microsoftonline.com/<tenant>/v2.0`. */
  readonly issuer: string;
  readonly tenantId: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** Where aadUserToken refreshes: Entra's default, a sovereign cloud, or the emulator. @default 'https://login.microsoftonline.com' */
  readonly authorityHost?: string | undefined;
  readonly backendUrl: string;
  /** The API permission the user signs in for and `/api/me` forwards, e.g. `api://orders/Orders.Read`. */
  readonly userScope: string;
  /** Local mode: Alice and Bob by `login_hint`, and the *Revoke session* button. */
  readonly emulator?: EntraEmulator | undefined;
  readonly logger: AadBackendAuthLogger;
  /** Sessions kept; a sign-in beyond it signs out the least recently used. @default DEFAULT_MAX_SESSIONS (1000) */
  readonly maxSessions?: number | undefined;
}

export interface SignIn {
  /** Mount before `/api`: `/auth/*`, `/_bff/session*` and `/api/me`. */
  readonly router: Router;
  readonly userToken: AadUserTokenMiddleware;
  close(): Promise<void>;
}

/** Only `fetch` with a JSON body can change the session: a cross-site form cannot. */
function jsonOnly(req: Request, res: Response, next: NextFunction): void {
  if (req.is('application/json') === 'application/json') next();
  else res.status(415).json({ error: 'unsupported_media_type', error_description: 'Send Content-Type: application/json.' });
}

function save(s: session.Session): Promise<void> {
  return new Promise((resolve, reject) => s.save((error: unknown) => (error ? reject(error) : resolve())));
}

/** An OAuth error code for the page's query string: letters, digits and `_` only. */
function errorCode(error: unknown): string {
  const code = (error as { error?: unknown; code?: unknown })?.error ?? (error as { code?: unknown })?.code;
  return typeof code === 'string' && /^[A-Za-z0-9_]{1,64}$/.test(code) ? code : 'sign_in_failed';
}

/**
 * Sign-in for real: the authorization-code flow with PKCE through openid-client (see oidc.ts),
 * against the emulator or Entra ID. The tokens stay in the server-side, bounded session.
 * `/api/me` forwards the user's access token with `aadUserToken`, which refreshes it with the
 * refresh token when due and requires `x-csrf: 1` on every request.
 */
export function createSignIn(options: SignInOptions): SignIn {
  const { emulator, logger } = options;
  const oidc = new OidcSignIn({
    issuer: options.issuer,
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    scope: `openid profile offline_access ${options.userScope}`,
  });
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
  const userToken = aadUserToken({
    tenantId: options.tenantId,
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    ...(options.authorityHost !== undefined && { authorityHost: options.authorityHost }),
    scope: options.userScope,
    session: {
      get: (req) => (req as Request).session?.tokens,
      // Saved at once, before any request uses the new tokens.
      set: (req, tokens) => {
        const s = (req as Request).session;
        s.tokens = tokens;
        s.refreshedAt = Date.now();
        s.refreshes = (s.refreshes ?? 0) + 1;
        return save(s);
      },
      clear: (req) => {
        const s = (req as Request).session;
        delete s.tokens;
        s.expired = true;
        return save(s);
      },
    },
    // Anti-forgery is on by default: every request needs `x-csrf: 1`.
    removeHeaders: ['cookie'],
    logger,
  });

  const router = express.Router();
  router.use(['/auth/callback', '/_bff/session', '/api/me'], sessions);

  router.get('/auth/sign-in', (req, res, next) => {
    let loginHint: string | undefined;
    if (emulator !== undefined) {
      const user = DEMO_USERS[String(req.query['user'] ?? 'alice') as keyof typeof DEMO_USERS];
      if (user === undefined) {
        res.status(404).json({ error: 'unknown_user', error_description: 'Sign in as alice or bob.' });
        return;
      }
      loginHint = user.username;
    }
    // The Host the browser used (the host guard allowed it), so the session cookie comes back to it.
    const redirectUri = `${req.protocol}://${req.headers.host}${CALLBACK_PATH}`;
    oidc.start(res, redirectUri, loginHint).then((url) => res.set('Cache-Control', 'no-store').redirect(302, url.href), next);
  });

  router.get(CALLBACK_PATH, (req, res) => {
    const failed = (code: string): void => res.set('Cache-Control', 'no-store').redirect(303, `/?sign_in_error=${code}#obo`);
    if (typeof req.query['error'] === 'string') return failed(errorCode({ error: req.query['error'] }));
    oidc.finish(req, res).then(
      (tokens) => {
        if (tokens === undefined) return failed('no_sign_in_in_progress');
        if (tokens.refresh_token === undefined) return failed('no_refresh_token');
        const claims = tokens.claims()!;
        const userTokens: UserTokens = {
          refreshToken: tokens.refresh_token,
          accessToken: tokens.access_token,
          ...(tokens.expires_in !== undefined && { expiresAt: Date.now() + tokens.expires_in * 1000 }),
          scope: tokens.scope ?? options.userScope,
        };
        // A new session id on sign-in, so a session fixed before it is worth nothing.
        req.session.regenerate((error) => {
          if (error) return failed('session_error');
          const username = String(claims['preferred_username'] ?? claims.sub);
          Object.assign(req.session, { tokens: userTokens, user: { name: String(claims['name'] ?? username), username }, signedInAt: Date.now(), refreshes: 0 });
          logger.info(`signed in ${username}`);
          save(req.session).then(() => res.set('Cache-Control', 'no-store').redirect(303, '/#obo'), () => failed('session_error'));
        });
      },
      (error: unknown) => {
        logger.warn(`sign-in failed: ${errorCode(error)}`);
        failed(errorCode(error));
      },
    );
  });

  router.get('/_bff/session', (req, res) => {
    const s = req.session;
    const expiresAt = s.tokens?.expiresAt ?? null;
    res.set('Cache-Control', 'no-store').json({
      signedIn: s.tokens !== undefined,
      name: s.user?.name ?? null,
      username: s.user?.username ?? null,
      expired: s.expired === true,
      signedInAt: s.signedInAt ?? null,
      refreshedAt: s.refreshedAt ?? null,
      refreshes: s.refreshes ?? 0,
      // When the access token expires, and when aadUserToken stops using it (30 s before). Never the token.
      accessTokenExpiresAt: expiresAt,
      refreshAfter: expiresAt === null ? null : expiresAt - 30_000,
      users: emulator !== undefined ? Object.keys(DEMO_USERS) : [],
      canRevoke: emulator !== undefined,
      now: Date.now(),
    });
  });

  router.post('/_bff/session/sign-out', jsonOnly, (req, res, next) => {
    req.session.destroy((error) => {
      if (error) return next(error);
      res.clearCookie('bff.sid').json({ signedIn: false });
    });
  });

  // "Refresh now": the session forgets when its access token expires, so the next /api/me redeems the refresh token.
  router.post('/_bff/session/expire-access-token', jsonOnly, (req, res, next) => {
    const tokens = req.session.tokens;
    if (tokens === undefined) {
      res.status(401).json({ error: 'not_signed_in' });
      return;
    }
    req.session.tokens = { ...tokens, expiresAt: Date.now() };
    save(req.session).then(() => res.json({ ok: true }), next);
  });

  // Local mode: what an admin's "Revoke sessions" does in Entra ID. The access token lives on until it expires.
  if (emulator !== undefined) {
    router.post('/_bff/session/revoke', jsonOnly, (req, res) => {
      const user = req.session.user;
      if (user === undefined || req.session.tokens === undefined) {
        res.status(401).json({ error: 'not_signed_in' });
        return;
      }
      const revoked = emulator.revokeRefreshTokens(user.username);
      logger.info(`revoked the refresh tokens of ${user.username} at the emulator (${revoked} still redeemable)`);
      res.json({ revoked });
    });
  }

  // The delegated call: the backend's /whoami, as the signed-in user.
  router.use('/api/me', userToken as unknown as express.RequestHandler, createProxyMiddleware({ target: options.backendUrl, changeOrigin: true, pathRewrite: () => '/whoami' }));

  return { router, userToken, close: () => userToken.tokenProvider.close() };
}
