import { expect } from 'chai';
import { aadBackendAuth } from '../../lib/index.js';
import { startEntraEmulator, type EntraEmulator } from '../../lib/testing/index.js';
import { startGateway, type Gateway } from '../helpers/gateway.js';
import { claimsChallenge, startScriptedBackend, type ScriptedBackend } from '../helpers/scripted-backend.js';
import { emulatorOptions } from '../helpers/setup.js';

const CAE_CLAIMS = { access_token: { nbf: { essential: true, value: '1700000000' } } };

describe('the proxy middleware on a claims challenge (CAE)', () => {
  let idp: EntraEmulator;
  let backend: ScriptedBackend;
  let gateway: Gateway;
  let auth: ReturnType<typeof aadBackendAuth>;
  afterEach(async () => {
    await auth.tokenProvider.close();
    await gateway.close();
    await backend.close();
    await idp.close();
  });

  async function start(options: Parameters<typeof emulatorOptions>[1]): Promise<void> {
    idp = await startEntraEmulator();
    backend = await startScriptedBackend((r) => (idp.isIssued(r.token ?? '')?.claims?.includes('nbf') ? undefined : claimsChallenge(CAE_CLAIMS)));
    auth = aadBackendAuth(emulatorOptions(idp, options));
    gateway = await startGateway([{ path: '/api', auth, target: backend.url }]);
  }

  it('with clientCapabilities: passes the challenge to the client, evicts the token, and the next token request carries the claims', async () => {
    await start({ clientCapabilities: ['cp1'] });
    const first = await fetch(`${gateway.url}/api/cae`);
    expect(first.status).to.equal(401);
    expect(first.headers.get('www-authenticate')).to.include('insufficient_claims');
    const second = await fetch(`${gateway.url}/api/cae`);
    expect(second.status).to.equal(200);
    expect(idp.tokenRequests).to.have.length(2);
    expect(JSON.parse(idp.tokenRequests[0]!.form.claims!)).to.deep.equal({ access_token: { xms_cc: { values: ['cp1'] } } });
    expect(JSON.parse(idp.tokenRequests[1]!.form.claims!).access_token.nbf).to.deep.equal(CAE_CLAIMS.access_token.nbf);
    // The token with the claims is cached for everyone after.
    expect((await fetch(`${gateway.url}/api/cae`)).status).to.equal(200);
    expect(idp.tokenRequests).to.have.length(2);
  });

  it('merges the challenge with clientCapabilities', async () => {
    await start({ clientCapabilities: ['cp1'] });
    expect((await fetch(`${gateway.url}/api/x`)).status).to.equal(401);
    expect((await fetch(`${gateway.url}/api/x`)).status).to.equal(200);
    expect(JSON.parse(idp.tokenRequests[1]!.form.claims!)).to.deep.equal({ access_token: { ...CAE_CLAIMS.access_token, xms_cc: { values: ['cp1'] } } });
  });

  it('without clientCapabilities: a plain 401, the token is evicted and no claims are asked for', async () => {
    await start({});
    expect((await fetch(`${gateway.url}/api/cae`)).status).to.equal(401);
    expect((await fetch(`${gateway.url}/api/cae`)).status).to.equal(401);
    expect(idp.tokenRequests.map((r) => r.form.claims)).to.deep.equal([undefined, undefined]);
  });

  it('does nothing with a challenge when purgeOnStatus leaves out 401', async () => {
    await start({ purgeOnStatus: [403] });
    expect((await fetch(`${gateway.url}/api/x`)).status).to.equal(401);
    expect((await fetch(`${gateway.url}/api/x`)).status).to.equal(401);
    expect(idp.tokenRequests).to.have.length(1);
  });
});
