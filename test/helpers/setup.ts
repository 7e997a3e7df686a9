import { aadBackendAuth, type AadBackendAuthMiddleware, type AadBackendAuthOptions } from '../../lib/index.js';
import {
  DEFAULT_CLIENT_ID,
  DEFAULT_CLIENT_SECRET,
  DEFAULT_TENANT_ID,
  startEntraEmulator,
  type EntraEmulator,
  type EntraEmulatorOptions,
} from '../../lib/testing/index.js';
import { MemoryTokenCache } from '../../lib/provider/memory-cache.js';
import { startGateway, type ExpressMajor, type Gateway, type GatewayRoute, type ProxyMajor } from './gateway.js';
import { startBackend, type Backend } from './servers.js';

/** Options for a middleware that talks to `idp` with the emulator's default app registration. */
export function emulatorOptions(idp: EntraEmulator, extra: Partial<AadBackendAuthOptions> = {}): AadBackendAuthOptions {
  return {
    tenantId: DEFAULT_TENANT_ID,
    clientId: DEFAULT_CLIENT_ID,
    clientSecret: DEFAULT_CLIENT_SECRET,
    authorityHost: idp.url,
    resource: 'api://orders',
    // A private store per test, so tests never see each other's tokens.
    cache: new MemoryTokenCache(),
    ...extra,
  };
}

/** The whole path: emulated IdP, a real backend, and Express + an auth middleware + http-proxy-middleware on `/api`. */
export interface StackOf<M> {
  readonly idp: EntraEmulator;
  readonly backend: Backend;
  readonly gateway: Gateway;
  readonly auth: M;
  close(): Promise<void>;
}

export type Stack = StackOf<AadBackendAuthMiddleware>;

export interface StackVersions {
  readonly emulator?: EntraEmulatorOptions;
  readonly express?: ExpressMajor;
  readonly proxy?: ProxyMajor;
}

/** Starts the stack with the middleware `makeAuth` builds against the emulator. */
export async function startStackWith<M extends { readonly tokenProvider: { close(): Promise<void> } }>(
  makeAuth: (idp: EntraEmulator) => M,
  options: StackVersions = {},
): Promise<StackOf<M>> {
  const idp = await startEntraEmulator(options.emulator);
  const backend = await startBackend();
  const auth = makeAuth(idp);
  const versions = { ...(options.express && { express: options.express }), ...(options.proxy && { proxy: options.proxy }) };
  const gateway = await startGateway([{ path: '/api', auth: auth as unknown as GatewayRoute['auth'], target: backend.url }], versions);
  return {
    idp,
    backend,
    gateway,
    auth,
    async close() {
      await auth.tokenProvider.close();
      await gateway.close();
      await backend.close();
      await idp.close();
    },
  };
}

/** The whole path with `aadBackendAuth` on `/api`. */
export async function startStack(options: StackVersions & { auth?: Partial<AadBackendAuthOptions> } = {}): Promise<Stack> {
  return startStackWith((idp) => aadBackendAuth(emulatorOptions(idp, options.auth)), options);
}

/** The raw token from an `Authorization: Bearer` header value. */
export function bearer(value: string | string[] | undefined): string | undefined {
  return typeof value === 'string' && value.startsWith('Bearer ') ? value.slice(7) : undefined;
}
