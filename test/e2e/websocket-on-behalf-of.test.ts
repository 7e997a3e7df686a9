import { expect } from 'chai';
import type { RequestHandler } from 'express';
import express from 'express';
import { createProxyMiddleware } from 'http-proxy-middleware';
import { once } from 'node:events';
import type { IncomingHttpHeaders, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket from 'ws';
import { aadOnBehalfOf, withBackendToken, type AadOnBehalfOfMiddleware, type AadOnBehalfOfOptions } from '../../lib/index.js';
import { startEntraEmulator, type EntraEmulator } from '../../lib/testing/index.js';
import { claimsOf, createForger, oboOptions, ORDERS_SCOPE } from '../helpers/on-behalf-of.js';
import { close } from '../helpers/servers.js';
import { startWsBackend, type WsBackend } from '../helpers/ws-backend.js';

interface Refused {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** Opens a WebSocket and gives the open socket, or the refusal's status, headers and body. */
function connect(url: string, headers: Record<string, string>): Promise<WebSocket | Refused> {
  const ws = new WebSocket(url, { headers });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
  });
}

describe('withBackendToken with aadOnBehalfOf: WebSocket upgrades as the signed-in user', function () {
  this.timeout(20_000);
  let idp: EntraEmulator;
  let backend: WsBackend;
  let server: Server | undefined;
  let obo: AadOnBehalfOfMiddleware | undefined;

  before(async () => {
    idp = await startEntraEmulator();
    backend = await startWsBackend();
  });
  afterEach(async () => {
    await obo?.tokenProvider.close();
    if (server !== undefined) await close(server);
    server = undefined;
    backend.upgrades.length = 0;
    backend.requests.length = 0;
    idp.reset();
  });
  after(async () => {
    await backend.close();
    await idp.close();
  });

  /** The documented wiring: `app.use('/ws', obo, proxy)` and `server.on('upgrade', withBackendToken(obo, proxy.upgrade))`. */
  async function start(extra: Partial<AadOnBehalfOfOptions> = {}): Promise<{ http: string; ws: string }> {
    obo = aadOnBehalfOf(oboOptions(idp, extra));
    const proxy = createProxyMiddleware({ target: backend.url, changeOrigin: true });
    const app = express();
    app.use('/ws', obo as unknown as RequestHandler, proxy as unknown as RequestHandler);
    server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    server.on('upgrade', withBackendToken(obo, proxy.upgrade));
    const { port } = server.address() as AddressInfo;
    return { http: `http://127.0.0.1:${port}/ws/hub`, ws: `ws://127.0.0.1:${port}/ws/hub` };
  }

  it("an upgrade with the user's bearer token reaches the backend with the delegated token, never the user's own", async () => {
    const urls = await start();
    const userToken = await idp.issueUserToken({ oid: 'alice-oid', name: 'Alice' });
    const ws = await connect(urls.ws, { authorization: `Bearer ${userToken}` });
    expect(ws).to.be.instanceOf(WebSocket);
    (ws as WebSocket).terminate();

    expect(backend.upgrades).to.have.length(1);
    const forwarded = backend.upgrades[0]!.authorization!;
    expect(forwarded).to.not.include(userToken);
    const delegated = forwarded.slice('Bearer '.length);
    expect(idp.isIssued(delegated)?.grant).to.equal('on-behalf-of');
    expect(claimsOf(delegated).oid).to.equal('alice-oid');
    expect(claimsOf(delegated).scp).to.equal(ORDERS_SCOPE.split('/').pop());
  });

  it('an HTTP request and an upgrade with the same user token share one exchange', async () => {
    const urls = await start();
    const userToken = await idp.issueUserToken({ oid: 'bob-oid', name: 'Bob' });
    const answer = await fetch(urls.http, { headers: { authorization: `Bearer ${userToken}` } });
    expect(answer.status).to.equal(200);
    const ws = await connect(urls.ws, { authorization: `Bearer ${userToken}` });
    expect(ws).to.be.instanceOf(WebSocket);
    (ws as WebSocket).terminate();

    expect(idp.tokenRequests).to.have.length(1);
    expect(backend.upgrades[0]!.authorization).to.equal(backend.requests[0]!.authorization);
  });

  it('no user token: 401 ERR_USER_TOKEN_MISSING with the Bearer challenge on the socket, Connection: close, nothing forwarded', async () => {
    const urls = await start();
    const refused = (await connect(urls.ws, {})) as Refused;
    expect(refused.status).to.equal(401);
    expect(refused.headers['www-authenticate']).to.equal('Bearer');
    expect(refused.headers.connection).to.equal('close');
    expect(refused.headers['content-type']).to.equal('application/problem+json');
    expect(JSON.parse(refused.body)).to.include({ status: 401, code: 'ERR_USER_TOKEN_MISSING' });
    expect(backend.upgrades).to.have.length(0);
    expect(idp.tokenRequests).to.have.length(0);
  });

  it('a forged user token: the same 401 ERR_USER_TOKEN_INVALID and invalid_token challenge as on HTTP, nothing forwarded', async () => {
    const urls = await start();
    const forged = await (await createForger(idp))();
    const refused = (await connect(urls.ws, { authorization: `Bearer ${forged}` })) as Refused;
    const overHttp = await fetch(urls.http, { headers: { authorization: `Bearer ${forged}` } });

    expect(refused.status).to.equal(401);
    expect(overHttp.status).to.equal(401);
    expect(refused.headers['www-authenticate']).to.equal('Bearer error="invalid_token"');
    expect(refused.headers['www-authenticate']).to.equal(overHttp.headers.get('www-authenticate'));
    expect(JSON.parse(refused.body).code).to.equal('ERR_USER_TOKEN_INVALID');
    expect(refused.headers.connection).to.equal('close');
    expect(backend.upgrades).to.have.length(0);
    expect(idp.tokenRequests).to.have.length(0);
  });

  it('with userToken set, an upgrade takes the user only from it: a bearer header alone is not a user', async () => {
    const origin = 'https://app.example';
    const urls = await start({
      userToken: (req) => (typeof req.headers['x-user-token'] === 'string' ? req.headers['x-user-token'] : undefined),
      removeHeaders: ['x-user-token'],
      // A user token from the request's own state is an ambient credential: upgrades must come from an allowed Origin.
      allowedOrigins: [origin],
    });
    const userToken = await idp.issueUserToken({ oid: 'carol-oid' });

    const byHeader = (await connect(urls.ws, { authorization: `Bearer ${userToken}`, origin })) as Refused;
    expect(byHeader.status).to.equal(401);
    expect(JSON.parse(byHeader.body).code).to.equal('ERR_USER_TOKEN_MISSING');

    const crossSite = (await connect(urls.ws, { 'x-user-token': userToken, origin: 'https://evil.example' })) as Refused;
    expect(crossSite.status).to.equal(403);
    expect(JSON.parse(crossSite.body).code).to.equal('ERR_ANTIFORGERY');

    const ws = await connect(urls.ws, { 'x-user-token': userToken, origin });
    expect(ws).to.be.instanceOf(WebSocket);
    (ws as WebSocket).terminate();
    expect(claimsOf(backend.upgrades[0]!.authorization!.slice('Bearer '.length)).oid).to.equal('carol-oid');
    expect(backend.upgrades[0]).to.not.have.property('x-user-token');
  });
});
