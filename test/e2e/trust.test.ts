import { expect } from 'chai';
import http, { type IncomingMessage } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import request from 'supertest';
import {
  AadBackendAuthError,
  MemoryTokenCache,
  aadBackendAuth,
  createTokenProvider,
  withBackendToken,
  type AadBackendAuthOptions,
  type StoredToken,
  type TokenCache,
  type TokenCredential,
} from '../../lib/index.js';
import { DEFAULT_TENANT_ID, startEntraEmulator, type EntraEmulator } from '../../lib/testing/index.js';
import { startGateway, type Gateway } from '../helpers/gateway.js';
import { close, listen, startBackend, type Backend } from '../helpers/servers.js';
import { bearer, emulatorOptions } from '../helpers/setup.js';

/** A credential that hands out `token` and counts its calls; `hang` makes it ignore its abort signal and never answer. */
function fakeCredential(token: string, options: { hang?: boolean } = {}): TokenCredential & { calls: number } {
  return {
    calls: 0,
    async getToken() {
      this.calls++;
      if (options.hang === true) return new Promise<never>(() => undefined);
      return { token, expiresOnTimestamp: Date.now() + 3600_000 };
    },
  };
}

/** A plain shared store (as Redis would be): not a MemoryTokenCache, so the provider treats it as fleet-wide. */
function sharedStore(): TokenCache & { sets: string[]; entries: Map<string, StoredToken> } {
  const entries = new Map<string, StoredToken>();
  const sets: string[] = [];
  return {
    entries,
    sets,
    get: (key) => entries.get(key),
    set: (key, value) => {
      sets.push(key);
      entries.set(key, value);
    },
    delete: (key) => void entries.delete(key),
  };
}

const silent = { debug() {}, info() {}, warn() {}, error() {} };

describe('trust: a token only reaches the route it was configured for', () => {
  let idp: EntraEmulator;
  let backend: Backend;
  let gateway: Gateway | undefined;
  const closers: Array<() => Promise<void>> = [];

  beforeEach(async () => {
    idp = await startEntraEmulator();
    backend = await startBackend();
  });
  afterEach(async () => {
    for (const closeIt of closers.splice(0)) await closeIt();
    await gateway?.close();
    gateway = undefined;
    await backend.close();
    await idp.close();
  });

  function track<T extends { tokenProvider: { close(): Promise<void> } }>(mw: T): T {
    closers.push(() => mw.tokenProvider.close());
    return mw;
  }

  it('never gives one credential object the token of another with the same clientId (default store)', async () => {
    const credA = fakeCredential('token-of-tenant-a');
    const credB = fakeCredential('token-of-tenant-b');
    const a = track(aadBackendAuth({ credential: credA, clientId: 'app', resource: 'api://orders', logger: silent }));
    const b = track(aadBackendAuth({ credential: credB, clientId: 'app', resource: 'api://orders', logger: silent }));
    gateway = await startGateway([
      { path: '/a', auth: a, target: backend.url },
      { path: '/b', auth: b, target: backend.url },
    ]);
    expect((await request(gateway.url).get('/a/x')).status).to.equal(200);
    expect((await request(gateway.url).get('/b/x')).status).to.equal(200);
    expect(backend.received.map((r) => bearer(r.headers.authorization))).to.deep.equal(['token-of-tenant-a', 'token-of-tenant-b']);
    expect(credB.calls).to.equal(1);
  });

  it('requires tenantId beside clientId for a credential with a shared store, and keeps tenants apart there', async () => {
    const store = sharedStore();
    const startup = (): unknown => aadBackendAuth({ credential: fakeCredential('t'), clientId: 'app', resource: 'api://orders', cache: store });
    expect(startup).to.throw(AadBackendAuthError, /"tenantId" is required/);
    const tenantA = '11111111-1111-4111-8111-111111111111';
    const tenantB = '22222222-2222-4222-8222-222222222222';
    const a = createTokenProvider({ credential: fakeCredential('token-a'), clientId: 'app', tenantId: tenantA, resource: 'api://orders', cache: store, logger: silent });
    const b = createTokenProvider({ credential: fakeCredential('token-b'), clientId: 'app', tenantId: tenantB, resource: 'api://orders', cache: store, logger: silent });
    expect((await a.getToken()).token).to.equal('token-a');
    expect((await b.getToken()).token).to.equal('token-b');
    expect(new Set(store.sets).size).to.equal(2);
  });

  it('bounds a credential that ignores its abort signal by timeoutMs, then remembers the failure', async () => {
    const hanging = fakeCredential('never', { hang: true });
    const auth = track(aadBackendAuth({ credential: hanging, resource: 'api://orders', timeoutMs: 300, logger: silent }));
    gateway = await startGateway([{ path: '/api', auth, target: backend.url }]);
    const started = Date.now();
    const first = await fetch(`${gateway.url}/api/x`, { signal: AbortSignal.timeout(5000) });
    expect(first.status).to.equal(503);
    expect(((await first.json()) as { code: string }).code).to.equal('ERR_IDP_UNAVAILABLE');
    expect(Date.now() - started).to.be.below(2000);
    const second = await fetch(`${gateway.url}/api/x`, { signal: AbortSignal.timeout(5000) });
    expect(second.status).to.equal(503);
    expect(hanging.calls).to.equal(1);
    expect(backend.received).to.have.length(0);
  });

  it("closing one middleware never fails another's requests that share its token request", async () => {
    await idp.close();
    idp = await startEntraEmulator({ latencyMs: 400 });
    const cache = new MemoryTokenCache();
    const a = track(aadBackendAuth(emulatorOptions(idp, { cache })));
    const b = track(aadBackendAuth(emulatorOptions(idp, { cache })));
    gateway = await startGateway([
      { path: '/a', auth: a, target: backend.url },
      { path: '/b', auth: b, target: backend.url },
    ]);
    const fromA = fetch(`${gateway.url}/a/x`);
    await delay(50);
    const fromB = fetch(`${gateway.url}/b/x`);
    await delay(50);
    await a.tokenProvider.close();
    expect((await fromA).status).to.equal(503);
    expect((await fromB).status).to.equal(200);
    expect(idp.tokenRequests).to.have.length(1);
  });

  it('lets a joiner keep its own deadline instead of the starter’s', async () => {
    await idp.close();
    idp = await startEntraEmulator({ latencyMs: 1500 });
    const cache = new MemoryTokenCache();
    const patient = track(aadBackendAuth(emulatorOptions(idp, { cache, timeoutMs: 10_000 })));
    const hurried = track(aadBackendAuth(emulatorOptions(idp, { cache, timeoutMs: 300 })));
    gateway = await startGateway([
      { path: '/patient', auth: patient, target: backend.url },
      { path: '/hurried', auth: hurried, target: backend.url },
    ]);
    const slow = fetch(`${gateway.url}/patient/x`);
    await delay(50);
    const started = Date.now();
    const fast = await fetch(`${gateway.url}/hurried/x`);
    expect(fast.status).to.equal(503);
    expect(Date.now() - started).to.be.below(1000);
    expect((await slow).status).to.equal(200);
  });

  it('shares flights only through a shared store: two stores, two token requests, each store written', async () => {
    const [storeA, storeB] = [sharedStore(), sharedStore()];
    await idp.close();
    idp = await startEntraEmulator({ latencyMs: 200 });
    const a = createTokenProvider(emulatorOptions(idp, { cache: storeA }));
    const b = createTokenProvider(emulatorOptions(idp, { cache: storeB }));
    closers.push(() => a.close(), () => b.close());
    await Promise.all([a.getToken(), b.getToken()]);
    expect(idp.tokenRequests).to.have.length(2);
    expect(storeA.sets).to.have.length(1);
    expect(storeB.sets).to.have.length(1);
  });

  it('copies the scope array at start-up: changing it later changes nothing', async () => {
    const scope = ['api://orders/.default'];
    const provider = createTokenProvider(emulatorOptions(idp, { resource: undefined, scope }));
    closers.push(() => provider.close());
    scope[0] = 'api://payments/.default';
    await provider.getToken();
    expect(idp.tokenRequests[0]!.form.scope).to.equal('api://orders/.default');
  });

  it('treats tenants that differ only in case as one target', async () => {
    await idp.close();
    idp = await startEntraEmulator({ tenants: ['contoso.onmicrosoft.com', DEFAULT_TENANT_ID] });
    const provider = createTokenProvider<IncomingMessage>(
      emulatorOptions(idp, { tenantId: (req: IncomingMessage) => String(req.headers['x-tenant']) }) as AadBackendAuthOptions,
    );
    closers.push(() => provider.close());
    const asked = (tenant: string) => provider.getToken({ headers: { 'x-tenant': tenant } } as unknown as IncomingMessage);
    await asked('Contoso.onmicrosoft.com');
    await asked('contoso.ONMICROSOFT.com');
    await asked(DEFAULT_TENANT_ID.toUpperCase());
    await asked(DEFAULT_TENANT_ID);
    expect(idp.tokenRequests).to.have.length(2);
    expect(provider.stats().keys).to.equal(2);
  });

  it('caps the token requests in flight per provider (16 by default), the rest queueing', async () => {
    let inFlight = 0;
    let most = 0;
    let issued = 0;
    const counting = http.createServer((req, res) => {
      inFlight++;
      most = Math.max(most, inFlight);
      req.resume();
      setTimeout(() => {
        inFlight--;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ access_token: `tok${issued++}`, token_type: 'Bearer', expires_in: 3600 }));
      }, 40);
    });
    const url = await listen(counting);
    closers.push(() => close(counting));
    const provider = createTokenProvider<IncomingMessage>({
      tenantId: (req: IncomingMessage) => String(req.headers['x-tenant']),
      clientId: 'app',
      clientSecret: 'secret',
      authorityHost: url,
      resource: 'api://orders',
      cache: new MemoryTokenCache(),
      logger: silent,
    });
    closers.push(() => provider.close());
    const tenant = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
    const tokens = await Promise.all(Array.from({ length: 400 }, (_, i) => provider.getToken({ headers: { 'x-tenant': tenant(i) } } as unknown as IncomingMessage)));
    expect(tokens).to.have.length(400);
    expect(issued).to.equal(400);
    expect(most).to.be.at.most(16);
    expect(most).to.be.at.least(2);
  });

  it('bounds the memory store', () => {
    const store = new MemoryTokenCache({ maxEntries: 5 });
    const entry = { token: 't', expiresOnTimestamp: Date.now() + 60_000, refreshAfterTimestamp: Date.now() + 30_000, useUntilTimestamp: Date.now() + 50_000 };
    for (let i = 0; i < 20; i++) store.set(`key-${i}`, entry, 50_000);
    expect(store.size).to.equal(5);
    expect(store.get('key-19')).to.not.equal(undefined);
    expect(store.get('key-0')).to.equal(undefined);
  });

  it('clamps the Retry-After clients see to whole seconds from 1 to 300', async () => {
    idp.fail({ kind: 'throttle', retryAfter: `1${'0'.repeat(40)}` }, Infinity);
    const auth = track(aadBackendAuth(emulatorOptions(idp, { timeoutMs: 500 })));
    gateway = await startGateway([{ path: '/api', auth, target: backend.url }]);
    const res = await request(gateway.url).get('/api/x');
    expect(res.status).to.equal(503);
    expect(res.headers['retry-after']).to.equal('300');
  });

  it('removes access_token query parameters, however spelled, and keeps the others byte for byte', async () => {
    const auth = track(aadBackendAuth(emulatorOptions(idp)));
    gateway = await startGateway([{ path: '/api', auth, target: backend.url }]);
    const res = await request(gateway.url).get('/api/hub?access_token=client-token&x=a%20b&ACCESS_TOKEN=u&access%5Ftoken=v&y=1');
    expect(res.status).to.equal(200);
    expect(backend.received[0]!.url).to.equal('/hub?x=a%20b&y=1');
    expect(backend.received[0]!.headers.authorization).to.not.include('client-token');
  });

  it('removes access_token from upgrade requests too', async () => {
    const auth = track(aadBackendAuth(emulatorOptions(idp)));
    const seen: string[] = [];
    const server = http.createServer();
    server.on('upgrade', withBackendToken(auth, (req, socket) => {
      seen.push(req.url ?? '');
      socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    }));
    const url = await listen(server);
    closers.push(() => close(server));
    await new Promise<void>((resolve) => {
      const req = http.request(`${url}/ws?access_token=abc&room=7`, { headers: { connection: 'Upgrade', upgrade: 'websocket' } });
      req.on('response', (res) => {
        res.resume();
        res.on('end', resolve);
      });
      req.on('error', () => resolve());
      req.end();
    });
    expect(seen).to.deep.equal(['/ws?room=7']);
  });

  it('refuses token headers that frame HTTP, and authority hosts with a query or fragment', () => {
    for (const header of ['content-length', 'Transfer-Encoding', 'host', 'connection']) {
      expect(() => aadBackendAuth(emulatorOptions(idp, { header }))).to.throw(AadBackendAuthError, /"header"/);
    }
    for (const authorityHost of ['https://login.example.com?', 'https://login.example.com#']) {
      expect(() => aadBackendAuth(emulatorOptions(idp, { authorityHost }))).to.throw(AadBackendAuthError, /"authorityHost"/);
    }
  });

  it('answers a defect inside the package with a non-transient ERR_INTERNAL, logged with its stack', async () => {
    const errors: string[] = [];
    const logger = {
      debug() {
        throw new TypeError('a broken logger');
      },
      info() {},
      warn() {},
      error: (line: string) => void errors.push(line),
    };
    idp.fail({ kind: 'status', status: 503 }, 1);
    const auth = track(aadBackendAuth(emulatorOptions(idp, { logger })));
    gateway = await startGateway([{ path: '/api', auth, target: backend.url }]);
    const res = await request(gateway.url).get('/api/x');
    expect(res.status).to.equal(500);
    expect(res.body.code).to.equal('ERR_INTERNAL');
    expect(errors.join('\n')).to.include('TypeError: a broken logger');
    expect(idp.tokenRequests).to.have.length(1);
  });

  it('evicts nothing when invalidate() gets an object without a token string', async () => {
    const provider = createTokenProvider(emulatorOptions(idp));
    closers.push(() => provider.close());
    const token = await provider.getToken();
    provider.invalidate({ ...token });
    expect(provider.peek()?.token).to.equal(token.token);
    provider.invalidate(token);
    expect(provider.peek()).to.equal(undefined);
  });

  it('never writes an evicted token back to a shared store, even when a credential hands it back', async () => {
    const store = sharedStore();
    const credential = fakeCredential('the-same-cached-token');
    const provider = createTokenProvider({ credential, resource: 'api://orders', cache: store, logger: silent });
    closers.push(() => provider.close());
    const token = await provider.getToken();
    expect(store.sets).to.have.length(1);
    provider.invalidate(token);
    await delay(10);
    expect(store.entries.size).to.equal(0);
    await provider.getToken();
    expect(credential.calls).to.equal(2);
    expect(store.sets).to.have.length(1);
  });
});
