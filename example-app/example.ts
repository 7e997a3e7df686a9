import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
// Relative imports of the package source, so `npm ci && npm start` needs no build.
// In your own app: `from 'aad-backend-auth'` and `from 'aad-backend-auth/testing'`.
import { aadBackendAuth, MemoryTokenCache, type AadBackendAuthLogger, type AadBackendAuthOptions } from '../lib/index.js';
import { DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_TENANT_ID, startEntraEmulator, type EntraEmulator } from '../lib/testing/index.js';
import { createBackendApp, entraApiValidation, SAMPLE_API_TOKEN_VERSION, sampleApiRegistration } from './backend.js';
import { createBffApp, type BffAbout } from './bff.js';
import { createChartHistory } from './chart-history.js';
import { allowedHostNames } from './host-guard.js';
import { acquireExampleMetrics } from './metrics.js';
import { CALLBACK_PATH, createSignIn, DEMO_USERS, ME_SCOPE_PERMISSION, type SignIn } from './sign-in.js';
import type { ExampleConfig } from './config.js';

/** The sample backend's App ID URI in local mode. */
export const EXAMPLE_RESOURCE = 'api://aad-backend-auth-example';
/** The app role the emulator grants the example's client for {@link EXAMPLE_RESOURCE}. */
export const EXAMPLE_ROLE = 'Orders.Read';
/**
 * Local tokens live 2 minutes and are refreshed once 1 minute is left, so the
 * page shows a refresh within a minute or two. Real Entra tokens live 60-90 minutes.
 */
export const LOCAL_TOKEN_LIFETIME_SECONDS = 120;
export const LOCAL_REFRESH_WINDOW_MS = 60_000;

/** Tuning that only tests and the CLI care about. */
export interface StartOptions {
  /** Gets the log lines of the BFF's middleware and of the sample backend. @default no logging */
  readonly log?: (source: 'bff' | 'backend', line: string) => void;
  /** Local mode only. @default LOCAL_TOKEN_LIFETIME_SECONDS */
  readonly tokenLifetimeSeconds?: number;
  /** Sign-in sessions kept, least recently used dropped first. @default DEFAULT_MAX_SESSIONS */
  readonly maxSessions?: number;
}

/** A running example. */
export interface RunningExample {
  /** The BFF, e.g. `http://127.0.0.1:3000`: the page, `/api/*` and `/_bff/status`. */
  readonly url: string;
  /** The sample backend (local mode), or `BACKEND_URL`. */
  readonly backendUrl: string;
  /** Local mode only. */
  readonly emulator: EntraEmulator | undefined;
  close(): Promise<void>;
}

/** The BFF's port is taken. The message is one line, meant to be printed as is. */
export class PortInUseError extends Error {
  override readonly name = 'PortInUseError';
  readonly code = 'ERR_PORT_IN_USE';
}

/** Takes the port first: the emulator must know the BFF's redirect URIs, and a busy port should fail before anything starts. */
async function listen(port: number, host: string): Promise<{ server: Server; url: string; port: number }> {
  const server = createServer();
  server.listen(port, host);
  try {
    await once(server, 'listening');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new PortInUseError(`Port ${port} is already in use on ${host}. Stop what runs there, or pick another port: PORT=${port + 1} npm start`);
    }
    throw error;
  }
  const { port: actual } = server.address() as AddressInfo;
  return { server, url: `http://${host.includes(':') ? `[${host}]` : host}:${actual}`, port: actual };
}

async function serve(app: Express, port: number, host: string): Promise<{ server: Server; url: string; port: number }> {
  const listening = await listen(port, host);
  listening.server.on('request', app);
  return listening;
}

async function closeServer(server: Server): Promise<void> {
  if (!server.listening) return;
  const closed = once(server, 'close');
  server.close();
  server.closeAllConnections();
  await closed;
}

function loggerFor(log: StartOptions['log']): AadBackendAuthLogger {
  const line = (text: string): void => log?.('bff', text);
  return { debug: line, info: line, warn: line, error: line };
}

/**
 * Starts the example. Local mode: the Entra ID emulator and the sample backend
 * on free loopback ports, then the BFF. Azure mode: only the BFF, against
 * real Entra ID and `BACKEND_URL`. Both build the same middleware; only its
 * options differ.
 */
export async function startExample(config: ExampleConfig, options: StartOptions = {}): Promise<RunningExample> {
  const cleanups: (() => Promise<void>)[] = [];
  const close = async (): Promise<void> => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  };
  try {
    let emulator: EntraEmulator | undefined;
    let backendUrl: string;
    let authOptions: AadBackendAuthOptions;
    let about: BffAbout;
    let signIn: SignIn | undefined;
    // The BFF's port first: the emulator registers the redirect URIs, which name it.
    const allowedHosts = allowedHostNames(config.host, config.allowedHosts);
    const bff = await listen(config.port, config.host);
    cleanups.push(() => closeServer(bff.server));

    if (config.mode === 'local') {
      const tokenLifetimeSeconds = options.tokenLifetimeSeconds ?? LOCAL_TOKEN_LIFETIME_SECONDS;
      const idp = await startEntraEmulator({
        tokenLifetimeSeconds,
        resources: [sampleApiRegistration(EXAMPLE_RESOURCE, { [DEFAULT_CLIENT_ID]: [EXAMPLE_ROLE] })],
        // The BFF's app registration, with its redirect URI on every name the BFF answers to.
        clients: [{ clientId: DEFAULT_CLIENT_ID, clientSecret: DEFAULT_CLIENT_SECRET, redirectUris: [...allowedHosts].map((name) => `http://${name}:${bff.port}${CALLBACK_PATH}`) }],
        // As Auth0 and Okta do: a refresh token redeemed twice revokes its family. aadUserToken redeems each once.
        refreshTokenReuseDetection: true,
        users: Object.values(DEMO_USERS).map(({ username, name, oid }) => ({ username, name, oid })),
      });
      emulator = idp;
      cleanups.push(() => idp.close());
      const backendApp = createBackendApp({
        ...entraApiValidation({ tenantId: DEFAULT_TENANT_ID, appIdUri: EXAMPLE_RESOURCE, accessTokenVersion: SAMPLE_API_TOKEN_VERSION }),
        jwksUri: idp.jwksUri,
        requiredRole: EXAMPLE_ROLE,
        ...(options.log && { log: (line: string) => options.log?.('backend', line) }),
      });
      const backend = await serve(backendApp, 0, '127.0.0.1');
      cleanups.push(() => closeServer(backend.server));
      backendUrl = backend.url;
      const refreshWindowMs = Math.min(LOCAL_REFRESH_WINDOW_MS, (tokenLifetimeSeconds * 1000) / 2);
      authOptions = {
        tenantId: DEFAULT_TENANT_ID,
        clientId: DEFAULT_CLIENT_ID,
        clientSecret: DEFAULT_CLIENT_SECRET,
        authorityHost: idp.url,
        resource: EXAMPLE_RESOURCE,
        refreshWindowMs,
      };
      signIn = createSignIn({
        issuer: `${idp.url}/${DEFAULT_TENANT_ID}/v2.0`,
        tenantId: DEFAULT_TENANT_ID,
        clientId: DEFAULT_CLIENT_ID,
        clientSecret: DEFAULT_CLIENT_SECRET,
        authorityHost: idp.url,
        backendUrl,
        userScope: `${EXAMPLE_RESOURCE}/${ME_SCOPE_PERMISSION}`,
        emulator: idp,
        logger: loggerFor(options.log),
        maxSessions: options.maxSessions,
      });
      about = {
        mode: 'local',
        identityProvider: `${idp.url} (local Entra ID emulator)`,
        credential: 'client secret',
        tenantId: DEFAULT_TENANT_ID,
        clientId: DEFAULT_CLIENT_ID,
        resource: EXAMPLE_RESOURCE,
        tokenLifetimeSeconds,
        refreshWindowSeconds: refreshWindowMs / 1000,
      };
    } else {
      backendUrl = config.backendUrl;
      const { credential } = config;
      authOptions =
        credential.kind === 'client-secret'
          ? {
              tenantId: credential.tenantId,
              clientId: credential.clientId,
              clientSecret: credential.clientSecret,
              resource: config.backendResource,
              ...(credential.authorityHost !== undefined && { authorityHost: credential.authorityHost }),
            }
          : // Loaded only here, so local mode starts without @azure/identity.
            { credential: new (await import('@azure/identity')).DefaultAzureCredential(), resource: config.backendResource };
      about = {
        mode: 'azure',
        identityProvider: credential.kind === 'client-secret' ? (credential.authorityHost ?? 'https://login.microsoftonline.com') : 'DefaultAzureCredential',
        credential: credential.kind === 'client-secret' ? 'client secret' : 'DefaultAzureCredential',
        tenantId: credential.kind === 'client-secret' ? credential.tenantId : undefined,
        clientId: credential.kind === 'client-secret' ? credential.clientId : undefined,
        resource: config.backendResource,
        tokenLifetimeSeconds: undefined,
        refreshWindowSeconds: 300,
      };
      // Signing users in needs the client secret (a confidential client redeems the code).
      if (credential.kind === 'client-secret') {
        const authority = (credential.authorityHost ?? 'https://login.microsoftonline.com').replace(/\/+$/, '');
        signIn = createSignIn({
          issuer: `${authority}/${credential.tenantId}/v2.0`,
          tenantId: credential.tenantId,
          clientId: credential.clientId,
          clientSecret: credential.clientSecret,
          authorityHost: credential.authorityHost,
          backendUrl,
          userScope: config.userScope,
          logger: loggerFor(options.log),
          maxSessions: options.maxSessions,
        });
      }
    }
    if (signIn !== undefined) {
      const { close: closeSignIn } = signIn;
      cleanups.push(() => closeSignIn());
    }

    // Before the middleware: its instruments are created with it.
    const exampleMetrics = acquireExampleMetrics();
    cleanups.push(() => exampleMetrics.release());
    if (emulator !== undefined) exampleMetrics.observeEmulator(emulator);
    // The same middleware in both modes. Browser cookies stay at the BFF. A private
    // store per instance, because tests start several examples in one process.
    const auth = aadBackendAuth({ ...authOptions, removeHeaders: ['cookie'], cache: new MemoryTokenCache(), logger: loggerFor(options.log) });
    cleanups.push(() => auth.tokenProvider.close());
    const app = createBffApp({ auth, backendUrl, about, emulator, signIn: signIn?.router, allowedHosts });
    // After the page's static files, which pass on what they do not have.
    const chart = createChartHistory(auth.tokenProvider);
    cleanups.push(async () => chart.close());
    app.get('/metrics', exampleMetrics.handler);
    app.get('/_bff/chart', chart.handler);
    bff.server.on('request', app);
    return { url: bff.url, backendUrl, emulator, close };
  } catch (error) {
    await close();
    throw error;
  }
}
