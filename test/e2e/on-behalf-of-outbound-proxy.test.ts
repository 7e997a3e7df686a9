// aadOnBehalfOf through a real CONNECT forward proxy (the `proxy` package, started here), with
// a private CA given with `ca`: the discovery document, the JWKS and the exchange all go through
// the tunnel. The authority is `https://idp.test:<port>`: a TLS front with its own CA in front of
// the emulator, which only the proxy can reach (it maps idp.test to 127.0.0.1), so an answer
// proves the tunnel. Behind the front, a small relay points the discovery's jwks_uri at
// idp.test too, so the keys cannot be read directly either.
import { expect } from 'chai';
import { once } from 'node:events';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { createProxy } from 'proxy';
import { aadOnBehalfOf, type AadBackendAuthError, type AadOnBehalfOfMiddleware, type AadOnBehalfOfOptions } from '../../lib/index.js';
import { startEntraEmulator, type EntraEmulator } from '../../lib/testing/index.js';
import { makeCertificate, type TestCertificate } from '../helpers/certificates.js';
import { startGateway, type Gateway } from '../helpers/gateway.js';
import { claimsOf, jwksReads, oboOptions } from '../helpers/on-behalf-of.js';
import { close, listen, startBackend, type Backend } from '../helpers/servers.js';
import { bearer } from '../helpers/setup.js';
import { saveEnv } from '../helpers/saved-env.js';

const IDP_HOST = 'idp.test';
const ENV = ['HTTPS_PROXY', 'https_proxy', 'NO_PROXY', 'no_proxy'] as const;

describe('aadOnBehalfOf through a CONNECT forward proxy', () => {
  let idp: EntraEmulator;
  let frontCa: TestCertificate;
  let relay: http.Server;
  let front: tls.Server;
  let frontPort: number;
  let proxy: http.Server;
  let proxyUrl: string;
  let backend: Backend;
  /** Every CONNECT target the proxy was asked for, and every path that reached the emulator through the front. */
  const connects: string[] = [];
  const relayed: string[] = [];
  let restoreEnv: () => void = () => undefined;
  let running: { auth: AadOnBehalfOfMiddleware; gateway: Gateway } | undefined;

  before(async () => {
    idp = await startEntraEmulator();
    backend = await startBackend();
    frontCa = await makeCertificate('Test corporate CA', [IDP_HOST]);
    const upstream = new URL(idp.url);
    // The emulator behind the front, with discovery's jwks_uri moved to idp.test.
    relay = http.createServer((req, res) => {
      relayed.push(req.url ?? '');
      const forward = http.request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
        const chunks: Buffer[] = [];
        answer.on('data', (chunk: Buffer) => chunks.push(chunk));
        answer.on('end', () => {
          let body = Buffer.concat(chunks).toString('utf8');
          if (req.url?.endsWith('openid-configuration') === true && answer.statusCode === 200) {
            const document = JSON.parse(body) as { jwks_uri: string };
            document.jwks_uri = document.jwks_uri.replace(idp.url, `https://${IDP_HOST}:${frontPort}`);
            body = JSON.stringify(document);
          }
          res.writeHead(answer.statusCode ?? 502, { 'content-type': answer.headers['content-type'] ?? 'application/json' });
          res.end(body);
        });
      });
      req.pipe(forward);
    });
    const relayPort = Number(new URL(await listen(relay)).port);
    front = tls.createServer({ key: frontCa.privateKey, cert: frontCa.certificate }, (socket) => {
      const inner = net.connect(relayPort, '127.0.0.1');
      socket.pipe(inner).pipe(socket);
      socket.on('error', () => inner.destroy());
      inner.on('error', () => socket.destroy());
    });
    front.listen(0, '127.0.0.1');
    await once(front, 'listening');
    frontPort = (front.address() as AddressInfo).port;

    proxy = createProxy(http.createServer());
    // The proxy's own DNS: idp.test is the TLS front on loopback. Everything else is refused.
    const [original] = proxy.listeners('connect') as ((req: http.IncomingMessage, socket: net.Socket, head: Buffer) => void)[];
    proxy.removeAllListeners('connect');
    proxy.on('connect', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
      connects.push(req.url ?? '');
      req.url = req.url === `${IDP_HOST}:${frontPort}` ? `127.0.0.1:${frontPort}` : 'refused.invalid:1';
      original!.call(proxy, req, socket, head);
    });
    proxy.listen(0, '127.0.0.1');
    await once(proxy, 'listening');
    proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    restoreEnv = saveEnv(ENV);
  });

  afterEach(async () => {
    if (running !== undefined) {
      await running.auth.tokenProvider.close();
      await running.gateway.close();
      running = undefined;
    }
    restoreEnv();
    connects.length = 0;
    relayed.length = 0;
    backend.received.length = 0;
    idp.reset();
  });

  after(async () => {
    proxy.closeAllConnections();
    await Promise.all([new Promise((r) => proxy.close(r)), new Promise((r) => front.close(r)), close(relay), backend.close(), idp.close()]);
  });

  async function gatewayWith(options: Partial<AadOnBehalfOfOptions>): Promise<string> {
    const auth = aadOnBehalfOf(oboOptions(idp, { authorityHost: `https://${IDP_HOST}:${frontPort}`, timeoutMs: 1500, ...options }));
    const gateway = await startGateway([{ path: '/api', auth, target: backend.url }]);
    running = { auth, gateway };
    return gateway.url;
  }

  it('an explicit proxy and `ca`: discovery, the JWKS and a Basic-authenticated exchange all go through the tunnel', async () => {
    const url = await gatewayWith({ proxy: proxyUrl, ca: frontCa.certificate, clientAuthentication: 'client_secret_basic' });
    const userToken = await idp.issueUserToken({ oid: 'proxied-user' });
    const res = await fetch(`${url}/api/me`, { headers: { authorization: `Bearer ${userToken}` } });
    expect(res.status).to.equal(200);
    expect(claimsOf(bearer(backend.received[0]!.headers.authorization))).to.include({ oid: 'proxied-user' });
    expect(connects.length).to.be.at.least(1);
    expect(connects.every((target) => target === `${IDP_HOST}:${frontPort}`)).to.equal(true);
    expect(relayed.some((path) => path.endsWith('/v2.0/.well-known/openid-configuration'))).to.equal(true);
    expect(relayed.some((path) => path.endsWith('/discovery/v2.0/keys'))).to.equal(true);
    expect(relayed.some((path) => path.endsWith('/oauth2/v2.0/token'))).to.equal(true);
    // Every read of the keys came through the front: none went to the emulator directly.
    expect(jwksReads(idp)).to.equal(relayed.filter((path) => path.endsWith('/keys')).length);
    expect(idp.tokenRequests[0]!.headers.authorization).to.match(/^Basic /);
    expect(idp.tokenRequests[0]!.headers.host).to.equal(`${IDP_HOST}:${frontPort}`);
  });

  it('HTTPS_PROXY from the environment, read per request', async () => {
    const url = await gatewayWith({ ca: frontCa.certificate });
    process.env.https_proxy = proxyUrl;
    const res = await fetch(`${url}/api/me`, { headers: { authorization: `Bearer ${await idp.issueUserToken()}` } });
    expect(res.status).to.equal(200);
    expect(connects.length).to.be.at.least(1);
    expect(idp.tokenRequests).to.have.length(1);
  });

  it('without `ca` the private CA is not trusted: discovery fails, a 503, and no exchange reaches the IdP', async () => {
    const url = await gatewayWith({ proxy: proxyUrl });
    const res = await fetch(`${url}/api/me`, { headers: { authorization: `Bearer ${await idp.issueUserToken()}` } });
    expect(res.status).to.equal(503);
    expect(await res.json()).to.include({ code: 'ERR_IDP_UNAVAILABLE' });
    expect(connects.length).to.be.at.least(1);
    expect(relayed).to.deep.equal([]);
    expect(idp.tokenRequests).to.have.length(0);
    expect(backend.received).to.have.length(0);
  });

  it('without a proxy idp.test does not resolve here: a 503 from getToken, and the proxy saw nothing', async () => {
    await gatewayWith({ ca: frontCa.certificate, proxy: false });
    process.env.https_proxy = proxyUrl;
    const req = { headers: { authorization: `Bearer ${await idp.issueUserToken()}` } } as http.IncomingMessage;
    const error = await running!.auth.tokenProvider.getToken(req).catch((e: AadBackendAuthError) => e);
    expect(error).to.include({ code: 'ERR_IDP_UNAVAILABLE', status: 503 });
    expect(connects).to.deep.equal([]);
  });
});
