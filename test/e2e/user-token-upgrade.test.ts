// aadUserToken over WebSocket upgrades: withBackendToken with the middleware, a real `ws` backend,
// real http-proxy-middleware. Upgrades cannot carry the anti-forgery header: their Origin is checked.
import { expect } from 'chai';
import type { RequestHandler } from 'express';
import express from 'express';
import { createProxyMiddleware } from 'http-proxy-middleware';
import { once } from 'node:events';
import http, { type IncomingHttpHeaders, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { aadUserToken } from '../../lib/adapters/user-token.js';
import { withBackendToken } from '../../lib/adapters/upgrade.js';
import { startRefreshIdp, type RefreshIdp } from '../helpers/refresh-idp.js';
import { close, listen } from '../helpers/servers.js';
import { startupErrorOf } from '../helpers/startup-error.js';
import { testSessions, type TestSessions } from '../helpers/session-store.js';

const APP_ORIGIN = 'http://app.test:8080';

describe('aadUserToken over WebSocket upgrades', function () {
  this.timeout(10_000);
  let idp: RefreshIdp;
  let backendServer: Server;
  let backendUrl: string;
  const upgrades: IncomingHttpHeaders[] = [];
  let gateway: Server | undefined;

  before(async () => {
    idp = await startRefreshIdp();
    backendServer = http.createServer((_req, res) => res.end('backend http'));
    const wss = new WebSocketServer({ noServer: true });
    backendServer.on('upgrade', (req: IncomingMessage, socket, head) => {
      upgrades.push({ ...req.headers });
      wss.handleUpgrade(req, socket, head, (ws) => ws.on('message', (data) => ws.send(data)));
    });
    backendUrl = await listen(backendServer);
  });
  afterEach(async () => {
    if (gateway !== undefined) await close(gateway);
    gateway = undefined;
    upgrades.length = 0;
  });
  after(async () => {
    await close(backendServer);
    await idp.close();
  });

  async function start(sessions: TestSessions): Promise<string> {
    const auth = aadUserToken(idp.userTokenOptions(sessions, { allowedOrigins: [APP_ORIGIN] }));
    const proxy = createProxyMiddleware({ target: backendUrl, changeOrigin: true });
    const app = express();
    app.use('/ws', auth as unknown as RequestHandler, proxy as unknown as RequestHandler);
    gateway = app.listen(0, '127.0.0.1');
    await once(gateway, 'listening');
    gateway.on('upgrade', withBackendToken(auth, proxy.upgrade));
    return `ws://127.0.0.1:${(gateway.address() as AddressInfo).port}/ws`;
  }

  /** Opens a socket: `open`, or the refusal's status and body. */
  function connect(url: string, headers: Record<string, string>): Promise<{ open: boolean; status?: number | undefined; body?: string }> {
    return new Promise((resolve) => {
      const ws = new WebSocket(url, { headers });
      ws.once('open', () => {
        ws.close();
        resolve({ open: true });
      });
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve({ open: false, status: res.statusCode, body }));
      });
      ws.once('error', () => resolve({ open: false }));
    });
  }

  it('refuses at start-up a middleware with anti-forgery on and no allowedOrigins', () => {
    const auth = aadUserToken(idp.userTokenOptions(testSessions()));
    const error = startupErrorOf(() => withBackendToken(auth, () => undefined));
    expect(error.message).to.include('"allowedOrigins" is required');
  });

  it('an upgrade from an allowed Origin reaches the backend with the session user\'s token', async () => {
    const sessions = testSessions();
    const signedIn = idp.signIn('alice');
    sessions.store.set('s1', signedIn);
    const url = await start(sessions);
    expect(await connect(url, { origin: APP_ORIGIN, 'x-session': 's1', cookie: 'sid=s1' })).to.deep.equal({ open: true });
    expect(upgrades).to.have.length(1);
    expect(upgrades[0]!.authorization).to.equal(`Bearer ${signedIn.accessToken}`);
  });

  it('an upgrade without an Origin, or from another, gets 403 ERR_ANTIFORGERY on the socket before the session is read', async () => {
    const sessions = testSessions();
    sessions.store.set('s1', idp.signIn('alice'));
    const url = await start(sessions);
    for (const origin of [undefined, 'http://evil.test', 'http://app.test:8081', 'null']) {
      const headers: Record<string, string> = { 'x-session': 's1', 'x-csrf': '1' };
      if (origin !== undefined) headers.origin = origin;
      const outcome = await connect(url, headers);
      expect(outcome.open, String(origin)).to.equal(false);
      expect(outcome.status).to.equal(403);
      expect(JSON.parse(outcome.body!)).to.include({ code: 'ERR_ANTIFORGERY' });
    }
    expect(sessions.calls.get).to.equal(0);
    expect(upgrades).to.have.length(0);
  });

  it('an upgrade from an allowed Origin without a session gets 401 ERR_USER_TOKEN_MISSING on the socket', async () => {
    const url = await start(testSessions());
    const outcome = await connect(url, { origin: APP_ORIGIN, 'x-session': 'nobody' });
    expect(outcome.status).to.equal(401);
    expect(JSON.parse(outcome.body!)).to.include({ code: 'ERR_USER_TOKEN_MISSING' });
    expect(upgrades).to.have.length(0);
  });
});
