import type { AccessToken as AzureAccessToken, GetTokenOptions, TokenCredential } from '@azure/identity';
import { expect } from 'chai';
import { decodeJwt } from 'jose';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import request from 'supertest';
import {
  AadBackendAuthError,
  MemoryTokenCache,
  aadBackendAuth,
  createTokenProvider,
  type AadBackendAuthMiddleware,
  type AadBackendAuthOptions,
} from '../../lib/index.js';
import { DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_TENANT_ID, startEntraEmulator, type EntraEmulator } from '../../lib/testing/index.js';
import { startGateway, type Gateway } from '../helpers/gateway.js';
import { startBackend, type Backend } from '../helpers/servers.js';

/** Express sets `originalUrl`; a bare IncomingMessage (a WebSocket upgrade) has only `url`. */
const pathOf = (req: IncomingMessage): string => (req as IncomingMessage & { originalUrl?: string }).originalUrl ?? req.url ?? '';
/** Typed `string` as `PerRequest` wants, though a missing header gives `undefined` at run time: that must be a 400 too. */
const headerOf = (req: IncomingMessage, name: string): string => {
  const value = req.headers[name];
  return (Array.isArray(value) ? value[0] : value) as string;
};
/** A request as the provider sees it: only what the per-request functions read. */
const fakeReq = (headers: Record<string, string>, url = '/'): IncomingMessage => ({ headers, url }) as unknown as IncomingMessage;

function bearerClaims(authorization: string | string[] | undefined): ReturnType<typeof decodeJwt> {
  expect(authorization).to.be.a('string').and.match(/^Bearer /);
  return decodeJwt((authorization as string).slice('Bearer '.length));
}

let counter = 0;
/** A fresh name per test: the default store is process-wide, so each test starts cold. */
const fresh = (name: string): string => `api://${name}-${process.pid}-${++counter}`;

describe('per-request targets: one middleware, many backends', function () {
  this.timeout(30_000);
  let emu: EntraEmulator;
  let backend: Backend;
  const gateways: Gateway[] = [];
  const middlewares: AadBackendAuthMiddleware[] = [];

  before(async () => {
    emu = await startEntraEmulator();
    backend = await startBackend();
  });
  afterEach(async () => {
    await Promise.all(gateways.splice(0).map((g) => g.close()));
    await Promise.all(middlewares.splice(0).map((m) => m.tokenProvider.close()));
    backend.received.length = 0;
    emu.reset();
  });
  after(async () => {
    await backend.close();
    await emu.close();
  });

  function auth(extra: Partial<AadBackendAuthOptions>): AadBackendAuthMiddleware {
    const middleware = aadBackendAuth({
      tenantId: DEFAULT_TENANT_ID,
      clientId: DEFAULT_CLIENT_ID,
      clientSecret: DEFAULT_CLIENT_SECRET,
      authorityHost: emu.url,
      ...extra,
    } as AadBackendAuthOptions);
    middlewares.push(middleware);
    return middleware;
  }

  async function gatewayWith(middleware: AadBackendAuthMiddleware, versions: { express: 4 | 5; proxy: 3 | 4 } = { express: 4, proxy: 3 }): Promise<Gateway> {
    const gateway = await startGateway([{ path: '/api', auth: middleware, target: backend.url }], versions);
    gateways.push(gateway);
    return gateway;
  }

  for (const versions of [{ express: 4, proxy: 3 }, { express: 5, proxy: 4 }] as const) {
    it(`Express ${versions.express} + http-proxy-middleware ${versions.proxy}: two routes through one middleware get two tokens that never cross`, async () => {
      const orders = fresh('orders');
      const billing = fresh('billing');
      // Mounted at /api: Express strips the mount path from req.url, so route on originalUrl.
      const middleware = auth({ resource: (req) => (pathOf(req).startsWith('/api/orders') ? orders : billing) });
      const gateway = await gatewayWith(middleware, versions);
      emu.fail({ kind: 'latency', ms: 200 }, 2); // both flights stay open while the requests pile up

      const paths = Array.from({ length: 60 }, (_, i) => (i % 2 === 0 ? `/api/orders/${i}` : `/api/billing/${i}`));
      const answers = await Promise.all(paths.map((path) => request(gateway.url).get(path).set('authorization', 'Bearer client-token')));
      for (const answer of answers) expect(answer.status).to.equal(200);

      expect(backend.received).to.have.length(60);
      const tokens = { orders: new Set<string>(), billing: new Set<string>() };
      for (const seen of backend.received) {
        const which = seen.url.startsWith('/orders/') ? 'orders' : 'billing';
        expect(bearerClaims(seen.headers.authorization).aud).to.equal(which === 'orders' ? orders : billing);
        tokens[which].add(seen.headers.authorization as string);
      }
      expect(tokens.orders.size).to.equal(1);
      expect(tokens.billing.size).to.equal(1);
      // One flight per key: one token request per backend.
      expect(emu.tokenRequests.map((r) => r.form['scope']).sort()).to.deep.equal([`${billing}/.default`, `${orders}/.default`]);
      expect(middleware.tokenProvider.stats().keys).to.equal(2);
    });
  }

  it('distinct tenants through the gateway: each request gets its tenant\'s token, and the keys stay at maxKeys', async () => {
    const tenants = Array.from({ length: 150 }, () => randomUUID());
    const tenantEmu = await startEntraEmulator({ tenants });
    try {
      const middleware = aadBackendAuth({
        tenantId: (req) => headerOf(req, 'x-tenant'),
        clientId: DEFAULT_CLIENT_ID,
        clientSecret: DEFAULT_CLIENT_SECRET,
        authorityHost: tenantEmu.url,
        resource: 'api://tenant-data',
        maxKeys: 50,
        cache: new MemoryTokenCache(),
      } as AadBackendAuthOptions);
      middlewares.push(middleware);
      const gateway = await gatewayWith(middleware);
      for (let i = 0; i < tenants.length; i += 25) {
        const batch = tenants.slice(i, i + 25);
        const answers = await Promise.all(batch.map((tenant) => request(gateway.url).get(`/api/t/${tenant}`).set('x-tenant', tenant)));
        for (const answer of answers) expect(answer.status).to.equal(200);
        expect(middleware.tokenProvider.stats().keys).to.be.at.most(50);
      }
      expect(middleware.tokenProvider.stats().keys).to.equal(50);
      expect(backend.received).to.have.length(tenants.length);
      for (const seen of backend.received) {
        expect(bearerClaims(seen.headers.authorization).tid).to.equal(seen.url.slice('/t/'.length));
      }
      expect(tenantEmu.tokenRequests).to.have.length(tenants.length);
    } finally {
      await tenantEmu.close();
    }
  });

  it('10,000 distinct tenant values keep stats().keys at the default bound of 1000, through getToken(req) and peek(req)', async () => {
    // An in-process TokenCredential keeps 10,000 acquisitions fast; the provider's slots, flights and LRU are the real ones.
    const calls: string[] = [];
    const credential: TokenCredential = {
      async getToken(_scopes: string | string[], options?: GetTokenOptions): Promise<AzureAccessToken> {
        calls.push(options?.tenantId ?? '');
        return { token: `token-for-${options?.tenantId ?? 'none'}`, expiresOnTimestamp: Date.now() + 3_600_000 };
      },
    };
    const provider = createTokenProvider({
      credential,
      tenantId: (req) => headerOf(req, 'x-tenant'),
      resource: 'api://tenant-data',
      cache: new MemoryTokenCache(),
    });
    try {
      for (let i = 0; i < 10_000; i += 500) {
        const batch = Array.from({ length: 500 }, () => fakeReq({ 'x-tenant': randomUUID() }));
        const tokens = await Promise.all(batch.map((req) => provider.getToken(req)));
        tokens.forEach((token, j) => expect(token.token).to.equal(`token-for-${batch[j]!.headers['x-tenant']}`));
        expect(provider.stats().keys).to.be.at.most(1000);
      }
      expect(calls).to.have.length(10_000);
      expect(provider.stats().keys).to.equal(1000);

      // peek() on 10,000 more never starts I/O, and the bound holds.
      for (let i = 0; i < 10_000; i++) expect(provider.peek(fakeReq({ 'x-tenant': randomUUID() }))).to.equal(undefined);
      expect(calls).to.have.length(10_000);
      expect(provider.stats().keys).to.equal(1000);
    } finally {
      await provider.close();
    }
  });

  describe('a bad per-request value: 400 problem+json ERR_INVALID_TARGET, no token request', () => {
    const cases: { name: string; options: () => Partial<AadBackendAuthOptions>; header?: string }[] = [
      {
        name: 'a resource function that throws',
        options: () => ({
          resource: () => {
            throw new Error('unknown route');
          },
        }),
      },
      { name: 'a tenant function that returns "common"', options: () => ({ tenantId: (req) => headerOf(req, 'x-tenant') }), header: 'common' },
      { name: 'a tenant function that returns "organizations"', options: () => ({ tenantId: (req) => headerOf(req, 'x-tenant') }), header: 'Organizations' },
      {
        name: 'a tenant function that returns a malformed tenant',
        options: () => ({ tenantId: (req) => headerOf(req, 'x-tenant') }),
        header: 'evil.example/../../common',
      },
      { name: 'a tenant function that returns undefined (no header)', options: () => ({ tenantId: (req) => headerOf(req, 'x-tenant') }) },
      { name: 'a scope function without "/.default"', options: () => ({ resource: undefined, scope: () => 'api://orders/read' }) },
      { name: 'a scope function with two scopes', options: () => ({ resource: undefined, scope: () => ['api://a/.default', 'api://b/.default'] }) },
      { name: 'a resource function that returns "<resource>/.default"', options: () => ({ resource: () => 'api://orders/.default' }) },
      { name: 'a resource function that returns a value with a space', options: () => ({ resource: () => 'api://orders x' }) },
    ];
    for (const { name, options, header } of cases) {
      it(name, async () => {
        const middleware = auth({ resource: fresh('target'), ...options() });
        const gateway = await gatewayWith(middleware);
        const call = request(gateway.url).get('/api/anything');
        const answer = header === undefined ? await call : await call.set('x-tenant', header);
        expect(answer.status).to.equal(400);
        expect(answer.headers['content-type']).to.equal('application/problem+json');
        const problem = JSON.parse(answer.text) as Record<string, unknown>;
        expect(problem).to.include({ status: 400, code: 'ERR_INVALID_TARGET' });
        // The answer never echoes the caller's value.
        if (header !== undefined) expect(answer.text).to.not.include(header);
        expect(emu.tokenRequests).to.have.length(0);
        expect(backend.received).to.have.length(0);
        expect(middleware.tokenProvider.stats().keys).to.equal(0);
      });
    }

    it('a tenant function that returns undefined never falls back to a credential\'s own tenant', async () => {
      let calls = 0;
      const credential: TokenCredential = {
        async getToken(): Promise<AzureAccessToken> {
          calls++;
          return { token: 'home-tenant-token', expiresOnTimestamp: Date.now() + 3_600_000 };
        },
      };
      const provider = createTokenProvider({ credential, tenantId: (req) => headerOf(req, 'x-tenant'), resource: fresh('target') });
      try {
        const error = await provider.getToken(fakeReq({})).then(
          () => undefined,
          (thrown: unknown) => thrown,
        );
        expect(error).to.include({ code: 'ERR_INVALID_TARGET', status: 400 });
        expect(calls).to.equal(0);
      } finally {
        await provider.close();
      }
    });

    it('getToken(req) rejects with ERR_INVALID_TARGET and peek(req) gives undefined, without I/O', async () => {
      const middleware = auth({ tenantId: (req) => headerOf(req, 'x-tenant'), resource: fresh('target') });
      const bad = fakeReq({ 'x-tenant': 'common' });
      const error = await middleware.tokenProvider.getToken(bad).then(
        () => undefined,
        (thrown: unknown) => thrown,
      );
      expect(error).to.be.instanceOf(AadBackendAuthError);
      expect(error).to.include({ code: 'ERR_INVALID_TARGET', status: 400 });
      expect(middleware.tokenProvider.peek(bad)).to.equal(undefined);
      expect(emu.tokenRequests).to.have.length(0);
    });
  });

  it('tokenProvider.getToken(req) and peek(req) take the request and pick its target', async () => {
    const orders = fresh('orders');
    const billing = fresh('billing');
    const middleware = auth({ resource: (req) => (pathOf(req).startsWith('/api/orders') ? orders : billing) });
    const ordersReq = fakeReq({}, '/api/orders/1');
    const billingReq = fakeReq({}, '/api/billing/1');

    expect(middleware.tokenProvider.peek(ordersReq)).to.equal(undefined);
    expect(emu.tokenRequests, 'peek() started I/O').to.have.length(0);

    const token = await middleware.tokenProvider.getToken(ordersReq);
    expect(decodeJwt(token.token).aud).to.equal(orders);
    expect(middleware.tokenProvider.peek(ordersReq)?.token).to.equal(token.token);
    expect(middleware.tokenProvider.peek(billingReq)).to.equal(undefined);
    expect(emu.tokenRequests).to.have.length(1);

    // The middleware uses the same cache: a request to /api/orders needs no new token.
    const gateway = await gatewayWith(middleware);
    expect((await request(gateway.url).get('/api/orders/2')).status).to.equal(200);
    expect(backend.received[0]!.headers.authorization).to.equal(`Bearer ${token.token}`);
    expect(emu.tokenRequests).to.have.length(1);
  });

  it('peek() never returns a token past its safety margin, and never fetches a new one', async () => {
    const shortEmu = await startEntraEmulator({ tokenLifetimeSeconds: 2 });
    const provider = createTokenProvider({
      tenantId: DEFAULT_TENANT_ID,
      clientId: DEFAULT_CLIENT_ID,
      clientSecret: DEFAULT_CLIENT_SECRET,
      authorityHost: shortEmu.url,
      resource: (req) => (pathOf(req).startsWith('/a') ? 'api://a' : 'api://b'),
      cache: new MemoryTokenCache(),
    });
    try {
      const req = fakeReq({}, '/a');
      const token = await provider.getToken(req);
      // A 2 s token is used for 1.8 s at most: the margin is 10 % of its life.
      expect(token.expiresOnTimestamp - token.useUntilTimestamp).to.be.at.least(150);
      expect(token.useUntilTimestamp).to.be.above(Date.now());
      expect(provider.peek(req)?.token).to.equal(token.token);

      const untilMargin = token.useUntilTimestamp - Date.now();
      await delay(untilMargin + 20);
      expect(Date.now()).to.be.below(token.expiresOnTimestamp); // not yet expired, but inside the margin
      expect(provider.peek(req)).to.equal(undefined);
      // No refresh or fetch was started by peek().
      expect(shortEmu.tokenRequests).to.have.length(1);
      await delay(50);
      expect(shortEmu.tokenRequests).to.have.length(1);
    } finally {
      await provider.close();
      await shortEmu.close();
    }
  });
});
