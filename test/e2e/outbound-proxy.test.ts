// Token requests through a real CONNECT forward proxy (the `proxy` package, started here):
// an explicit `proxy` URL with credentials, HTTPS_PROXY from the environment (lower case
// winning), NO_PROXY, loopback always direct, and a private CA given with `ca`. The token
// endpoint is `https://idp.test:<port>`: a TLS front with its own CA in front of the emulator,
// which only the proxy can reach (it maps idp.test to 127.0.0.1), so a token proves the tunnel.
import { expect } from 'chai';
import { once } from 'node:events';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { createProxy } from 'proxy';
import { AadBackendAuthError, createTokenProvider, MemoryTokenCache, type TokenProvider, type TokenProviderOptions } from '../../lib/index.js';
import { DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_TENANT_ID, startEntraEmulator, type EntraEmulator } from '../../lib/testing/index.js';
import { makeCertificate, type TestCertificate } from '../helpers/certificates.js';
import { saveEnv } from '../helpers/saved-env.js';

const IDP_HOST = 'idp.test';
const PROXY_USER = 'gateway';
const PROXY_PASSWORD = 'proxy-pass-7c1e';
const ENV = ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy', 'NO_PROXY', 'no_proxy'] as const;

describe('token requests through a CONNECT forward proxy', () => {
  let idp: EntraEmulator;
  let frontCa: TestCertificate;
  let front: tls.Server;
  let frontPort: number;
  let proxy: http.Server;
  let proxyPort: number;
  /** Every CONNECT target the proxy was asked for, as sent. */
  const connects: string[] = [];
  const proxyAuthorizations: (string | undefined)[] = [];
  const providers: TokenProvider[] = [];
  let restoreEnv: () => void = () => undefined;

  before(async () => {
    idp = await startEntraEmulator();
    frontCa = await makeCertificate('Test corporate CA', [IDP_HOST]);
    // TLS in front of the emulator, with a certificate for idp.test that only `ca` trusts.
    front = tls.createServer({ key: frontCa.privateKey, cert: frontCa.certificate }, (socket) => {
      const upstream = net.connect(Number(new URL(idp.url).port), '127.0.0.1');
      socket.pipe(upstream).pipe(socket);
      socket.on('error', () => upstream.destroy());
      upstream.on('error', () => socket.destroy());
    });
    front.listen(0, '127.0.0.1');
    await once(front, 'listening');
    frontPort = (front.address() as AddressInfo).port;

    proxy = createProxy(http.createServer());
    const expected = `Basic ${Buffer.from(`${PROXY_USER}:${PROXY_PASSWORD}`).toString('base64')}`;
    const authorizationRequired = { on: false };
    Object.assign(proxy, {
      authenticate: (req: http.IncomingMessage) => !authorizationRequired.on || req.headers['proxy-authorization'] === expected,
      authorizationRequired,
    });
    // The proxy's own DNS: idp.test is the TLS front on loopback. Everything else is refused.
    const [original] = proxy.listeners('connect') as ((req: http.IncomingMessage, socket: net.Socket, head: Buffer) => void)[];
    proxy.removeAllListeners('connect');
    proxy.on('connect', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
      connects.push(req.url ?? '');
      proxyAuthorizations.push(req.headers['proxy-authorization']);
      req.url = req.url === `${IDP_HOST}:${frontPort}` ? `127.0.0.1:${frontPort}` : 'refused.invalid:1';
      original!.call(proxy, req, socket, head);
    });
    proxy.listen(0, '127.0.0.1');
    await once(proxy, 'listening');
    proxyPort = (proxy.address() as AddressInfo).port;
    restoreEnv = saveEnv(ENV);
  });

  afterEach(async () => {
    await Promise.all(providers.splice(0).map((p) => p.close()));
    restoreEnv();
    (proxy as unknown as { authorizationRequired: { on: boolean } }).authorizationRequired.on = false;
    connects.length = 0;
    proxyAuthorizations.length = 0;
    idp.reset();
  });

  after(async () => {
    proxy.closeAllConnections();
    await Promise.all([new Promise((r) => proxy.close(r)), new Promise((r) => front.close(r)), idp.close()]);
  });

  const proxyUrl = (credentials = false): string => `http://${credentials ? `${PROXY_USER}:${PROXY_PASSWORD}@` : ''}127.0.0.1:${proxyPort}`;

  function provider(options: Partial<TokenProviderOptions>): TokenProvider {
    const created = createTokenProvider({
      tenantId: DEFAULT_TENANT_ID,
      clientId: DEFAULT_CLIENT_ID,
      clientSecret: DEFAULT_CLIENT_SECRET,
      authorityHost: `https://${IDP_HOST}:${frontPort}`,
      resource: 'api://orders',
      cache: new MemoryTokenCache(),
      failureCooldownMs: 0,
      timeoutMs: 1500,
      ...options,
    } as TokenProviderOptions);
    providers.push(created);
    return created;
  }

  async function failure(p: TokenProvider): Promise<AadBackendAuthError> {
    const error: unknown = await p.getToken().then(() => expect.fail('a token was issued'), (e: unknown) => e);
    expect(error).to.be.instanceOf(AadBackendAuthError);
    return error as AadBackendAuthError;
  }

  it('an explicit proxy URL with credentials: CONNECT idp.test, TLS inside trusting `ca`, and a token', async () => {
    (proxy as unknown as { authorizationRequired: { on: boolean } }).authorizationRequired.on = true;
    const { token } = await provider({ proxy: proxyUrl(true), ca: frontCa.certificate }).getToken();
    expect(idp.isIssued(token)).to.not.equal(undefined);
    expect(connects).to.deep.equal([`${IDP_HOST}:${frontPort}`]);
    expect(proxyAuthorizations[0]).to.match(/^Basic /);
    expect(idp.tokenRequests[0]!.headers.host).to.equal(`${IDP_HOST}:${frontPort}`);
  });

  it('HTTPS_PROXY from the environment, read per request, the lower-case variable winning', async () => {
    const p = provider({ ca: frontCa.certificate });
    process.env.HTTPS_PROXY = 'http://127.0.0.1:1';
    process.env.https_proxy = proxyUrl();
    const { token } = await p.getToken();
    expect(idp.isIssued(token)).to.not.equal(undefined);
    expect(connects).to.deep.equal([`${IDP_HOST}:${frontPort}`]);
  });

  it('without `ca` the TLS-inspecting CA is not trusted: a 503, and no token request reaches the IdP', async () => {
    process.env.https_proxy = proxyUrl();
    const error = await failure(provider({}));
    expect(error).to.include({ code: 'ERR_IDP_UNAVAILABLE', status: 503 });
    expect(error.message).to.match(/certificate/i);
    expect(connects.length).to.be.at.least(1);
    expect(idp.tokenRequests).to.have.length(0);
  });

  it('NO_PROXY and proxy: false go direct (idp.test does not resolve here, so a 503, and the proxy saw nothing)', async () => {
    process.env.https_proxy = proxyUrl();
    process.env.no_proxy = IDP_HOST;
    expect((await failure(provider({ ca: frontCa.certificate }))).code).to.equal('ERR_IDP_UNAVAILABLE');
    delete process.env.no_proxy;
    expect((await failure(provider({ ca: frontCa.certificate, proxy: false }))).code).to.equal('ERR_IDP_UNAVAILABLE');
    expect(connects).to.deep.equal([]);
  });

  it('loopback endpoints are always direct, whatever HTTPS_PROXY, HTTP_PROXY or `proxy` say', async () => {
    process.env.https_proxy = proxyUrl();
    process.env.http_proxy = proxyUrl();
    for (const options of [{}, { proxy: proxyUrl() }]) {
      const { token } = await provider({ authorityHost: idp.url, ...options }).getToken();
      expect(idp.isIssued(token)).to.not.equal(undefined);
    }
    expect(connects).to.deep.equal([]);
  });
});
