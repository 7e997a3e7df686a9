import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { inspect, promisify } from 'node:util';
import { AadBackendAuthError, aadBackendAuth, createTokenProvider } from '../../lib/index.js';
import { startEntraEmulator, type EntraEmulator } from '../../lib/testing/index.js';
import { emulatorOptions } from '../helpers/setup.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));

describe('provider lifecycle', () => {
  let idp: EntraEmulator;
  beforeEach(async () => {
    idp = await startEntraEmulator();
  });
  afterEach(() => idp.close());

  it('never keeps a process alive: a script that got a token and never closed the provider exits by itself', async () => {
    const script = `
      import { createTokenProvider } from './lib/index.ts';
      const provider = createTokenProvider({ tenantId: process.env.TENANT, clientId: process.env.CLIENT, clientSecret: process.env.SECRET,
        authorityHost: process.env.IDP, resource: 'api://orders', refreshWindowMs: 0 });
      await provider.getToken();
      console.log('got a token');
    `;
    const options = emulatorOptions(idp);
    const env = { ...process.env, TENANT: String(options.tenantId), CLIENT: String(options.clientId), SECRET: String(options.clientSecret), IDP: idp.url };
    const started = Date.now();
    const { stdout } = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '--eval', script], { cwd: root, env, timeout: 15_000 });
    expect(stdout).to.include('got a token');
    expect(Date.now() - started).to.be.below(10_000);
  });

  it('close() aborts a pending token request and refuses later ones', async () => {
    idp.fail({ kind: 'hang' }, Infinity);
    const provider = createTokenProvider(emulatorOptions(idp, { timeoutMs: 30_000 }));
    const pending = provider.getToken().then(
      () => undefined,
      (error: unknown) => error,
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    const started = Date.now();
    await provider.close();
    const error = await pending;
    expect(Date.now() - started).to.be.below(1000);
    expect(error).to.be.instanceOf(AadBackendAuthError);
    expect((error as AadBackendAuthError).code).to.equal('ERR_CLOSED');
    const later = await provider.getToken().catch((e: unknown) => e);
    expect((later as AadBackendAuthError).code).to.equal('ERR_CLOSED');
    await provider.close(); // idempotent
  });

  it('emits token and refresh events, and a throwing listener breaks nothing', async () => {
    const shortLived = await startEntraEmulator({ tokenLifetimeSeconds: 2 });
    const provider = createTokenProvider(emulatorOptions(shortLived));
    const events: string[] = [];
    provider.on('token', (event) => {
      events.push(`token:${event.source}`);
      throw new Error('listener bug');
    });
    provider.on('refresh', () => events.push('refresh'));
    try {
      const first = await provider.getToken();
      await new Promise((resolve) => setTimeout(resolve, first.refreshAfterTimestamp - Date.now() + 10));
      expect(await provider.getToken()).to.equal(first); // served at once, refresh in the background
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(events).to.deep.equal(['token:idp', 'refresh', 'token:idp']);
      expect(provider.peek()!.expiresOnTimestamp).to.be.above(first.expiresOnTimestamp);
      expect(provider.stats()).to.include({ refreshes: 1, tokenRequests: 2, waits: 1 });
    } finally {
      await provider.close();
      await shortLived.close();
    }
  });

  it('shows no secret or token in inspect or JSON of the middleware and provider', async () => {
    const auth = aadBackendAuth(emulatorOptions(idp, { clientSecret: 'SENTINEL-not-the-secret' }));
    // The emulator refuses the sentinel, so make a second one with the real secret to hold a token.
    const real = aadBackendAuth(emulatorOptions(idp));
    const token = await real.tokenProvider.getToken();
    for (const value of [auth, real, auth.tokenProvider, real.tokenProvider, token, real.tokenProvider.stats()]) {
      const shown = inspect(value, { showHidden: true, depth: Infinity }) + JSON.stringify(value ?? null);
      expect(shown).not.to.include('SENTINEL').and.not.to.include(token.token);
    }
    await auth.tokenProvider.close();
    await real.tokenProvider.close();
  });
});
