// Anti-forgery on the other two entry points, through the gateway adapters: on by default for
// aadOnBehalfOf with `userToken` (a cookie session), off for bearer calls and app tokens, and
// available on all of them.
import { expect } from 'chai';
import type { IncomingMessage } from 'node:http';
import { aadBackendAuth } from '../../lib/adapters/backend-auth.js';
import { aadOnBehalfOf } from '../../lib/adapters/on-behalf-of.js';
import { withBackendToken } from '../../lib/adapters/upgrade.js';
import { DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_TENANT_ID, startEntraEmulator, type EntraEmulator } from '../../lib/testing/index.js';
import { startGateway, type Gateway } from '../helpers/gateway.js';
import { oboOptions } from '../helpers/on-behalf-of.js';
import { startBackend, type Backend } from '../helpers/servers.js';
import { startupErrorOf } from '../helpers/startup-error.js';

describe('anti-forgery on aadOnBehalfOf and aadBackendAuth', function () {
  this.timeout(10_000);
  let idp: EntraEmulator;
  let backend: Backend;
  const gateways: Gateway[] = [];

  before(async () => {
    idp = await startEntraEmulator();
    backend = await startBackend();
  });
  afterEach(async () => {
    await Promise.all(gateways.splice(0).map((g) => g.close()));
    backend.received.length = 0;
  });
  after(async () => {
    await backend.close();
    await idp.close();
  });

  const start = async (auth: (req: never, res: never, next: never) => void): Promise<Gateway> => {
    const gateway = await startGateway([{ path: '/api', auth, target: backend.url }]);
    gateways.push(gateway);
    return gateway;
  };
  const status = async (gateway: Gateway, headers: Record<string, string>) => {
    const response = await fetch(`${gateway.url}/api/me`, { headers });
    const body = await response.text();
    return { status: response.status, code: response.status >= 400 ? (JSON.parse(body) as { code: string }).code : undefined };
  };

  it('aadOnBehalfOf with userToken: on by default, refused before userToken is read', async () => {
    const user = await idp.issueUserToken({ aud: `api://${DEFAULT_CLIENT_ID}` });
    let reads = 0;
    const userToken = (req: IncomingMessage) => {
      reads++;
      return req.headers['x-session'] === 'alice' ? user : undefined;
    };
    const gateway = await start(aadOnBehalfOf(oboOptions(idp, { userToken })));
    expect(await status(gateway, { 'x-session': 'alice' })).to.deep.equal({ status: 403, code: 'ERR_ANTIFORGERY' });
    expect(await status(gateway, { 'x-session': 'alice', 'x-csrf': 'yes' })).to.deep.equal({ status: 403, code: 'ERR_ANTIFORGERY' });
    expect(reads).to.equal(0);
    expect(backend.received).to.have.length(0);
    expect(await status(gateway, { 'x-session': 'alice', 'x-csrf': '1' })).to.deep.equal({ status: 200, code: undefined });
    expect(reads).to.equal(1);
    const off = await start(aadOnBehalfOf(oboOptions(idp, { userToken, antiForgery: false })));
    expect((await status(off, { 'x-session': 'alice' })).status).to.equal(200);
  });

  it('aadOnBehalfOf with the Authorization header: off by default, available when asked for', async () => {
    const user = await idp.issueUserToken({ aud: `api://${DEFAULT_CLIENT_ID}` });
    const bearer = await start(aadOnBehalfOf(oboOptions(idp)));
    expect((await status(bearer, { authorization: `Bearer ${user}` })).status).to.equal(200);
    const guarded = await start(aadOnBehalfOf(oboOptions(idp, { antiForgery: true })));
    expect(await status(guarded, { authorization: `Bearer ${user}` })).to.deep.equal({ status: 403, code: 'ERR_ANTIFORGERY' });
    expect((await status(guarded, { authorization: `Bearer ${user}`, 'x-csrf': '1' })).status).to.equal(200);
  });

  it('aadBackendAuth: off by default, available when asked for', async () => {
    const options = { tenantId: DEFAULT_TENANT_ID, clientId: DEFAULT_CLIENT_ID, clientSecret: DEFAULT_CLIENT_SECRET, authorityHost: idp.url, resource: 'api://orders' };
    const open = await start(aadBackendAuth(options));
    expect((await status(open, {})).status).to.equal(200);
    const guarded = await start(aadBackendAuth({ ...options, antiForgery: { header: 'x-bff', value: 'on' } }));
    const tokenRequests = idp.tokenRequests.length;
    expect(await status(guarded, { 'x-csrf': '1' })).to.deep.equal({ status: 403, code: 'ERR_ANTIFORGERY' });
    expect(idp.tokenRequests.length).to.equal(tokenRequests);
    expect((await status(guarded, { 'x-bff': 'on' })).status).to.equal(200);
  });

  it('withBackendToken refuses such a middleware without allowedOrigins, and takes it with them', () => {
    const userToken = () => undefined;
    const error = startupErrorOf(() => withBackendToken(aadOnBehalfOf(oboOptions(idp, { userToken })), () => undefined));
    expect(error.message).to.include('"allowedOrigins" is required');
    expect(withBackendToken(aadOnBehalfOf(oboOptions(idp, { userToken, allowedOrigins: ['https://app.example.com'] })), () => undefined)).to.be.a('function');
    expect(withBackendToken(aadOnBehalfOf(oboOptions(idp)), () => undefined)).to.be.a('function');
  });
});
