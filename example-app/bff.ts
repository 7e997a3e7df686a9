import express, { type Express, type NextFunction, type Request, type Response, type Router } from 'express';
import { createProxyMiddleware } from 'http-proxy-middleware';
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
// Relative imports of the package source, so `npm ci && npm start` needs no build.
// In your own app: `from 'aad-backend-auth'` and `from 'aad-backend-auth/testing'`.
import type { AadBackendAuthError, AadBackendAuthMiddleware } from '../lib/index.js';
import type { EntraEmulator } from '../lib/testing/index.js';
import { createSummaryRoute } from './aggregate-route.js';
import { hostGuard } from './host-guard.js';

/** What the page shows about the set-up. None of it is secret. */
export interface BffAbout {
  readonly mode: 'local' | 'azure';
  /** Where tokens come from, e.g. the emulator's URL or `https://login.microsoftonline.com`. */
  readonly identityProvider: string;
  readonly credential: 'client secret' | 'DefaultAzureCredential';
  readonly tenantId: string | undefined;
  readonly clientId: string | undefined;
  /** The backend's App ID URI: tokens are requested for `<resource>/.default`. */
  readonly resource: string;
  /** Set in local mode, where the example picks it. */
  readonly tokenLifetimeSeconds: number | undefined;
  readonly refreshWindowSeconds: number;
}

/** Options of {@link createBffApp}. */
export interface BffOptions {
  /** The token middleware; the caller creates it, and closes its provider. */
  readonly auth: AadBackendAuthMiddleware;
  /** Where `/api/*` goes, with `/api` cut off. */
  readonly backendUrl: string;
  readonly about: BffAbout;
  /** Local mode only: enables the `/_bff/demo/*` buttons that make the emulated IdP fail. */
  readonly emulator?: EntraEmulator | undefined;
  /** Local mode only: emulated sign-in and `/api/me` on behalf of the user (see sign-in.ts), mounted before `/api`. */
  readonly signIn?: Router | undefined;
  /** The `Host` names the BFF answers to (see host-guard.ts); any other gets 421, whatever the path. */
  readonly allowedHosts: ReadonlySet<string>;
}

interface ProviderEvent {
  readonly at: number;
  readonly kind: 'token' | 'refresh' | 'error';
  readonly text: string;
}

interface LastError {
  readonly at: number;
  readonly code: string;
  readonly status: number;
  /** Entra's AADSTS code: for operators; a public BFF should not show it to end users. */
  readonly aadsts: string | undefined;
}

const PUBLIC_DIR = fileURLToPath(new URL('./public/', import.meta.url));
const MAX_EVENTS = 12;

/** The page is static and same-origin: nothing inline, nothing from elsewhere. */
function securityHeaders(_req: Request, res: Response, next: NextFunction): void {
  res.set({
    'Content-Security-Policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
  });
  next();
}

/** Only `fetch` with a JSON body can call the demo switches: a cross-site form cannot. */
function jsonOnly(req: Request, res: Response, next: NextFunction): void {
  if (req.is('application/json') === 'application/json') next();
  else res.status(415).json({ error: 'unsupported_media_type', error_description: 'Send Content-Type: application/json.' });
}

/** The backend is down or unreachable: say so, in the same problem+json shape the middleware uses. */
function backendUnreachable(err: Error, _req: unknown, res: ServerResponse | Socket): void {
  if (!('writeHead' in res) || res.headersSent) {
    res.destroy();
    return;
  }
  const code = (err as NodeJS.ErrnoException).code ?? 'ERR_PROXY';
  res.writeHead(502, { 'content-type': 'application/problem+json', 'cache-control': 'no-store' });
  res.end(JSON.stringify({ type: 'about:blank', title: 'Bad Gateway', status: 502, detail: 'The BFF could not reach the backend.', code }));
}

/**
 * The BFF: `/api/*` goes through `aadBackendAuth` (which sets the app token)
 * and on to the backend through http-proxy-middleware; `/` is the page;
 * `/_bff/status` shows what the token provider did, never the token.
 */
export function createBffApp(options: BffOptions): Express {
  const { auth, backendUrl, about, emulator } = options;
  const provider = auth.tokenProvider;
  const events: ProviderEvent[] = [];
  let lastError: LastError | undefined;
  const record = (event: ProviderEvent): void => {
    events.unshift(event);
    events.length = Math.min(events.length, MAX_EVENTS);
  };
  provider.on('token', (e) => {
    const inSeconds = Math.round((e.expiresOnTimestamp - Date.now()) / 1000);
    record({ at: Date.now(), kind: 'token', text: `New token ${e.source === 'idp' ? 'from the IdP' : 'from the shared cache'}, expires in ${inSeconds} s` });
  });
  provider.on('refresh', () => record({ at: Date.now(), kind: 'refresh', text: 'Background refresh started ahead of expiry; requests keep the current token' }));
  provider.on('error', (err: AadBackendAuthError) => {
    lastError = { at: Date.now(), code: err.code, status: err.status, aadsts: err.oauth?.aadsts };
    record({ at: Date.now(), kind: 'error', text: `Token request failed: ${err.code}${err.oauth?.aadsts ? ` (${err.oauth.aadsts})` : ''}` });
  });

  const app = express();
  app.disable('x-powered-by');
  // First, so no route (page, /api, /_bff, or any added later) answers a rebound name.
  app.use(hostGuard(options.allowedHosts));

  if (options.signIn !== undefined) app.use(options.signIn);
  // The whole point: the token is added here, the browser never sees it.
  app.use('/api', auth, createProxyMiddleware({ target: backendUrl, changeOrigin: true, on: { error: backendUnreachable } }));

  app.get('/_bff/summary', createSummaryRoute(auth, backendUrl));

  app.get('/_bff/status', (_req, res) => {
    const stats = provider.stats();
    const now = Date.now();
    const expiresOn = stats.tokenExpiresOnTimestamp;
    res.set('Cache-Control', 'no-store').json({
      now,
      about,
      stats: {
        tokenRequests: stats.tokenRequests,
        cacheHits: stats.cacheHits,
        waits: stats.waits,
        refreshes: stats.refreshes,
        failures: stats.failures,
        evictions: stats.evictions,
        lastErrorCode: stats.lastErrorCode ?? null,
        tokenExpiresOn: expiresOn === undefined ? null : new Date(expiresOn).toISOString(),
        secondsUntilExpiry: expiresOn === undefined ? null : Math.max(0, Math.round((expiresOn - now) / 1000)),
      },
      lastError: lastError ?? null,
      events,
      demo: emulator !== undefined,
    });
  });

  if (emulator !== undefined) {
    const demo = express.Router();
    demo.use(jsonOnly);
    // Invalidating the cached token makes the next /api call ask the IdP, so the fault shows at once.
    demo.post('/idp-refuses', (_req, res) => {
      emulator.heal();
      emulator.fail({ kind: 'oauth-error', error: 'invalid_client' }, Infinity);
      provider.invalidate();
      res.json({ ok: true, idp: 'refuses the client secret (AADSTS7000215) until healed' });
    });
    demo.post('/idp-down', (_req, res) => {
      emulator.heal();
      emulator.fail({ kind: 'status', status: 503, headers: { 'retry-after': '1' } }, Infinity);
      provider.invalidate();
      res.json({ ok: true, idp: 'answers 503 until healed' });
    });
    demo.post('/heal', (_req, res) => {
      emulator.heal();
      res.json({ ok: true, idp: 'healthy' });
    });
    demo.post('/forget-token', (_req, res) => {
      provider.invalidate();
      res.json({ ok: true });
    });
    app.use('/_bff/demo', demo);
  }

  app.use(securityHeaders, express.static(PUBLIC_DIR, { index: 'index.html', maxAge: 0 }));
  return app;
}
