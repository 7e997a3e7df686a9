import { expect } from 'chai';
import type { RequestHandler } from 'express';
import express4 from 'express';
import express5 from 'express5';
import { createProxyMiddleware as createProxy3 } from 'http-proxy-middleware';
import { createProxyMiddleware as createProxy4 } from 'http-proxy-middleware-4';
import { once } from 'node:events';
import http, { type IncomingHttpHeaders, type IncomingMessage, type Server } from 'node:http';
import net from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import WebSocket, { WebSocketServer } from 'ws';
import { aadBackendAuth, withBackendToken, type AadBackendAuthMiddleware, type AadBackendAuthOptions } from '../../lib/index.js';
import { DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_TENANT_ID, startEntraEmulator, type EntraEmulator } from '../../lib/testing/index.js';
import { close, listen } from '../helpers/servers.js';
import { startWsBackend, type WsBackend } from '../helpers/ws-backend.js';

type ExpressMajor = 4 | 5;
type ProxyMajor = 3 | 4;

interface WsGateway {
  readonly url: string;
  readonly server: Server;
  readonly auth: AadBackendAuthMiddleware;
  close(): Promise<void>;
}

/** The documented wiring: `app.use('/ws', auth, proxy)` and `server.on('upgrade', withBackendToken(auth, proxy.upgrade))`. */
async function startWsGateway(
  backendUrl: string,
  options: AadBackendAuthOptions,
  versions: { express: ExpressMajor; proxy: ProxyMajor; ws?: boolean },
): Promise<WsGateway> {
  const auth = aadBackendAuth(options);
  const proxyOptions = { target: backendUrl, changeOrigin: true, ...(versions.ws === true ? { ws: true } : {}) };
  const proxy = versions.proxy === 4 ? createProxy4(proxyOptions) : createProxy3(proxyOptions);
  const app = versions.express === 5 ? express5() : express4();
  app.use('/ws', auth as unknown as RequestHandler, proxy as unknown as RequestHandler);
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  server.on('upgrade', withBackendToken(auth, proxy.upgrade));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    auth,
    close: async () => {
      await auth.tokenProvider.close();
      await close(server);
    },
  };
}

type Outcome =
  | { readonly kind: 'open'; readonly ws: WebSocket }
  | { readonly kind: 'refused'; readonly status: number; readonly headers: IncomingHttpHeaders; readonly body: string; readonly closed: boolean };

/** Opens a WebSocket; a refused handshake reports the status, headers, body, and whether the server closed the connection. */
async function connect(url: string, headers: Record<string, string> = {}): Promise<Outcome> {
  const ws = new WebSocket(url, { headers });
  return new Promise<Outcome>((resolve, reject) => {
    ws.once('open', () => resolve({ kind: 'open', ws }));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => {
      const socket = res.socket;
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      // The server must close the connection by itself; give it two seconds.
      const closed = new Promise<boolean>((done) => {
        if (socket.destroyed) done(true);
        socket.once('close', () => done(true));
        setTimeout(() => done(false), 2000).unref();
      });
      void closed.then((wasClosed) => {
        socket.destroy();
        resolve({ kind: 'refused', status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8'), closed: wasClosed });
      });
    });
  });
}

async function expectOpen(url: string, headers: Record<string, string> = {}): Promise<WebSocket> {
  const outcome = await connect(url, headers);
  if (outcome.kind !== 'open') throw new Error(`expected the upgrade to succeed, got ${outcome.status}: ${outcome.body}`);
  return outcome.ws;
}

async function echo(ws: WebSocket, text: string): Promise<string> {
  const reply = once(ws, 'message');
  ws.send(text);
  const [data] = (await reply) as [Buffer];
  return data.toString('utf8');
}

function wsUrl(gateway: WsGateway, path = '/ws/hub'): string {
  return gateway.url.replace(/^http/, 'ws') + path;
}

async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await delay(5);
  }
}

let resourceCounter = 0;
/** A fresh resource per test: the default store is process-wide, so each test starts cold. */
function freshResource(): string {
  return `api://ws-${process.pid}-${++resourceCounter}`;
}

describe('withBackendToken: WebSocket upgrades', function () {
  this.timeout(30_000);
  let emu: EntraEmulator;
  let backend: WsBackend;
  const gateways: WsGateway[] = [];

  before(async () => {
    emu = await startEntraEmulator();
    backend = await startWsBackend();
  });
  afterEach(async () => {
    await Promise.all(gateways.splice(0).map((g) => g.close()));
    backend.upgrades.length = 0;
    emu.reset();
  });
  after(async () => {
    await backend.close();
    await emu.close();
  });

  function options(extra: Partial<AadBackendAuthOptions> = {}): AadBackendAuthOptions {
    return {
      tenantId: DEFAULT_TENANT_ID,
      clientId: DEFAULT_CLIENT_ID,
      clientSecret: DEFAULT_CLIENT_SECRET,
      authorityHost: emu.url,
      resource: freshResource(),
      ...extra,
    } as AadBackendAuthOptions;
  }

  async function gateway(extra: Partial<AadBackendAuthOptions> = {}, versions: { express: ExpressMajor; proxy: ProxyMajor; ws?: boolean } = { express: 4, proxy: 3 }) {
    const started = await startWsGateway(backend.url, options(extra), versions);
    gateways.push(started);
    return started;
  }

  /** Every upgrade that reached the backend carried a token the emulator issued for this gateway's audience. */
  function expectEveryUpgradeAuthorized(audience: string): void {
    for (const headers of backend.upgrades) {
      const value = headers.authorization ?? '';
      expect(value, 'an upgrade reached the backend without the token').to.match(/^Bearer /);
      expect(emu.isIssued(value.slice('Bearer '.length))?.audience).to.equal(audience);
    }
  }

  for (const expressMajor of [4, 5] as const) {
    for (const proxyMajor of [3, 4] as const) {
      it(`Express ${expressMajor} + http-proxy-middleware ${proxyMajor}: the backend gets the token on the upgrade, removeHeaders gone, the client's Authorization replaced`, async () => {
        const resource = freshResource();
        const gw = await gateway({ resource, removeHeaders: ['cookie', 'x-api-key'] }, { express: expressMajor, proxy: proxyMajor });
        const ws = await expectOpen(wsUrl(gw), { authorization: 'Bearer from-the-browser', cookie: 'session=secret', 'x-api-key': 'k-123', 'x-kept': 'yes' });
        expect(await echo(ws, 'ping')).to.equal('ping');
        ws.terminate();

        expect(backend.upgrades).to.have.length(1);
        const seen = backend.upgrades[0]!;
        expect(seen.authorization).to.not.equal('Bearer from-the-browser');
        expect(emu.isIssued(seen.authorization!.slice('Bearer '.length))?.audience).to.equal(resource);
        expect(seen).to.not.have.property('cookie');
        expect(seen).to.not.have.property('x-api-key');
        expect(seen['x-kept']).to.equal('yes');
        expect(emu.tokenRequests).to.have.length(1);
      });
    }
  }

  it('a warm token is set on the hot path, without another token request', async () => {
    const resource = freshResource();
    const gw = await gateway({ resource });
    (await expectOpen(wsUrl(gw))).terminate();
    (await expectOpen(wsUrl(gw))).terminate();
    expect(backend.upgrades).to.have.length(2);
    expectEveryUpgradeAuthorized(resource);
    expect(emu.tokenRequests).to.have.length(1);
    expect(gw.auth.tokenProvider.stats().cacheHits).to.be.at.least(1);
  });

  it('an unavailable IdP: 503 with Retry-After and problem+json, the connection closed, nothing forwarded', async () => {
    emu.fail({ kind: 'status', status: 503 }, Infinity);
    const gw = await gateway({ timeoutMs: 800 });
    const outcome = await connect(wsUrl(gw));
    expect(outcome.kind).to.equal('refused');
    if (outcome.kind !== 'refused') return;
    expect(outcome.status).to.equal(503);
    expect(outcome.headers['retry-after']).to.match(/^[1-9]\d*$/);
    expect(outcome.headers['content-type']).to.equal('application/problem+json');
    expect(outcome.headers.connection).to.equal('close');
    const problem = JSON.parse(outcome.body) as Record<string, unknown>;
    expect(problem).to.include({ status: 503, code: 'ERR_IDP_UNAVAILABLE' });
    expect(outcome.body).to.not.include(DEFAULT_CLIENT_SECRET);
    expect(outcome.closed, 'the server left the socket open').to.equal(true);
    expect(backend.upgrades).to.have.length(0);
    expect(emu.tokenRequests.length).to.be.at.least(1);
  });

  it('a refusing IdP (invalid_client): 502 problem+json without Retry-After, the connection closed, nothing forwarded', async () => {
    emu.fail({ kind: 'oauth-error', error: 'invalid_client' }, Infinity);
    const gw = await gateway();
    const outcome = await connect(wsUrl(gw));
    expect(outcome.kind).to.equal('refused');
    if (outcome.kind !== 'refused') return;
    expect(outcome.status).to.equal(502);
    expect(outcome.headers).to.not.have.property('retry-after');
    expect(JSON.parse(outcome.body)).to.include({ status: 502, code: 'ERR_IDP_REJECTED' });
    expect(outcome.body).to.not.match(/AADSTS/);
    expect(outcome.closed, 'the server left the socket open').to.equal(true);
    expect(backend.upgrades).to.have.length(0);
  });

  it('a per-request target that throws: 400 ERR_INVALID_TARGET and no token request', async () => {
    const gw = await gateway({
      resource: (req: IncomingMessage) => {
        if (req.url?.includes('bad') === true) throw new Error('no such backend');
        return 'api://hub';
      },
    });
    const outcome = await connect(wsUrl(gw, '/ws/bad'));
    expect(outcome.kind).to.equal('refused');
    if (outcome.kind !== 'refused') return;
    expect(outcome.status).to.equal(400);
    expect(JSON.parse(outcome.body)).to.include({ status: 400, code: 'ERR_INVALID_TARGET' });
    expect(outcome.closed).to.equal(true);
    expect(emu.tokenRequests).to.have.length(0);
    expect(backend.upgrades).to.have.length(0);
  });

  it('200 concurrent cold upgrades cause exactly 1 token request', async () => {
    const resource = freshResource();
    const gw = await gateway({ resource });
    // A slow IdP keeps the one flight open while the upgrades pile up behind it.
    emu.fail({ kind: 'latency', ms: 300 });
    const sockets = await Promise.all(Array.from({ length: 200 }, () => expectOpen(wsUrl(gw))));
    for (const ws of sockets) ws.terminate();
    expect(emu.tokenRequests).to.have.length(1);
    expect(backend.upgrades).to.have.length(200);
    expectEveryUpgradeAuthorized(resource);
    const stats = gw.auth.tokenProvider.stats();
    expect(stats.tokenRequests).to.equal(1);
    expect(stats.waits).to.be.at.least(2);
  });

  for (const proxyMajor of [3, 4] as const) {
    it(`http-proxy-middleware ${proxyMajor}, ws off: after HTTP traffic through the same proxy, no upgrade reaches the backend without a token`, async () => {
      const resource = freshResource();
      const gw = await gateway({ resource, timeoutMs: 800 }, { express: 4, proxy: proxyMajor });
      // HTTP first: with ws: true this is when the proxy would subscribe to 'upgrade' itself.
      const page = await fetch(`${gw.url}/ws/page`);
      expect(page.status).to.equal(200);
      expect(await page.text()).to.equal('backend http');

      (await expectOpen(wsUrl(gw))).terminate(); // warm
      gw.auth.tokenProvider.invalidate();
      (await expectOpen(wsUrl(gw))).terminate(); // cold again
      gw.auth.tokenProvider.invalidate();
      emu.fail({ kind: 'status', status: 503 }, Infinity);
      const refused = await connect(wsUrl(gw)); // no token to be had
      expect(refused.kind === 'refused' && refused.status).to.equal(503);

      expect(backend.upgrades).to.have.length(2);
      expectEveryUpgradeAuthorized(resource);
    });

    it(`http-proxy-middleware ${proxyMajor}, the trap: with ws: true, an upgrade after HTTP traffic reaches the backend without a token`, async () => {
      const gw = await gateway({}, { express: 4, proxy: proxyMajor, ws: true });
      expect((await fetch(`${gw.url}/ws/page`)).status).to.equal(200);
      gw.auth.tokenProvider.invalidate();
      emu.fail({ kind: 'latency', ms: 300 });
      // Two listeners now answer the same socket (the proxy's and ours), so the client may see anything; only the backend matters.
      const outcome = await connect(wsUrl(gw)).catch(() => undefined);
      if (outcome?.kind === 'open') outcome.ws.terminate();
      // The proxy's own 'upgrade' listener forwarded it before the token came.
      expect(backend.upgrades.length).to.be.at.least(1);
      expect(backend.upgrades[0]!.authorization).to.equal(undefined);
    });
  }

  it('works with a plain node:http server and a ws handleUpgrade, given options instead of a middleware', async () => {
    const resource = freshResource();
    const seen: IncomingHttpHeaders[] = [];
    const wss = new WebSocketServer({ noServer: true });
    const server = http.createServer();
    const handler = withBackendToken(options({ resource }), (req, socket, head) => {
      seen.push({ ...req.headers });
      wss.handleUpgrade(req, socket, head, (ws) => ws.close());
    });
    server.on('upgrade', handler);
    const url = (await listen(server)).replace(/^http/, 'ws');
    try {
      const ws = await expectOpen(url, { authorization: 'Basic dXNlcjpwYXNz' });
      await once(ws, 'close');
      expect(seen).to.have.length(1);
      expect(emu.isIssued(seen[0]!.authorization!.slice('Bearer '.length))?.audience).to.equal(resource);
      expect(handler.tokenProvider.stats().tokenRequests).to.equal(1);
    } finally {
      await handler.tokenProvider.close();
      wss.close();
      await close(server);
    }
  });

  it('a client that resets while the token is fetched: no crash, no upgrade forwarded, the next client is served', async () => {
    const resource = freshResource();
    const gw = await gateway({ resource });
    emu.fail({ kind: 'latency', ms: 400 });
    const { port } = gw.server.address() as net.AddressInfo;
    const raw = net.connect(port, '127.0.0.1');
    await once(raw, 'connect');
    raw.write(
      'GET /ws/hub HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
    const tokenArrived = new Promise<void>((resolve) => gw.auth.tokenProvider.on('token', () => resolve()));
    await waitFor(() => emu.tokenRequests.length === 1); // the gateway is now waiting for the token
    raw.resetAndDestroy();
    await tokenArrived; // after the client is gone
    await delay(50);
    expect(emu.tokenRequests).to.have.length(1);
    expect(backend.upgrades).to.have.length(0);

    (await expectOpen(wsUrl(gw))).terminate();
    expect(backend.upgrades).to.have.length(1);
    expectEveryUpgradeAuthorized(resource);
  });

  it('refuses a function that is not an aadBackendAuth middleware', () => {
    const notOurs = ((_req: never, _res: never, next: () => void) => next()) as unknown as AadBackendAuthMiddleware<never, never>;
    expect(() => withBackendToken(notOurs, () => undefined)).to.throw(/optionsOrMiddleware/);
  });
});
