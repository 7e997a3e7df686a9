// Interoperability: the real @azure/identity credentials (MSAL underneath)
// get tokens from the emulator over https, trusting its self-signed
// certificate in-process through the credential option `tlsOptions: { ca }`.
import { AuthenticationError, AuthenticationRequiredError, ClientSecretCredential, DefaultAzureCredential, EnvironmentCredential } from '@azure/identity';
import { expect } from 'chai';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import * as https from 'node:https';
import {
  DEFAULT_CLIENT_ID,
  DEFAULT_CLIENT_SECRET,
  DEFAULT_TENANT_ID,
  startEntraEmulator,
  type EntraEmulator,
} from '../../../lib/testing/index.js';
import { saveEnv } from '../../helpers/saved-env.js';
import { request, requestError, v2Form } from './client.js';

const ENV_NAMES = ['AZURE_TENANT_ID', 'AZURE_CLIENT_ID', 'AZURE_CLIENT_SECRET', 'AZURE_AUTHORITY_HOST'] as const;

describe('Entra emulator over https with @azure/identity', () => {
  let emu: EntraEmulator;

  before(async () => {
    emu = await startEntraEmulator({
      https: true,
      refreshInSeconds: 1800,
      resources: [{ audience: 'api://orders', appRoles: { [DEFAULT_CLIENT_ID]: ['Orders.Read'] } }],
    });
  });
  afterEach(() => emu.reset());
  after(() => emu.close());

  function credential(secret = DEFAULT_CLIENT_SECRET): ClientSecretCredential {
    return new ClientSecretCredential(DEFAULT_TENANT_ID, DEFAULT_CLIENT_ID, secret, {
      authorityHost: emu.url,
      disableInstanceDiscovery: true,
      tlsOptions: { ca: emu.ca },
    });
  }

  it('serves TLS with a certificate valid for 127.0.0.1 and localhost, trusted through `ca` only', async () => {
    expect(emu.url).to.match(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(emu.ca).to.match(/^-----BEGIN CERTIFICATE-----/);
    const viaIp = await request(emu.jwksUri, { ca: emu.ca });
    expect(viaIp.status).to.equal(200);
    const viaName = await request(emu.jwksUri.replace('127.0.0.1', 'localhost'), { ca: emu.ca });
    expect(viaName.status).to.equal(200);
    const untrusted = await requestError(emu.jwksUri);
    expect(untrusted.message).to.match(/self[- ]signed|unable to verify/i);
    const peer = await new Promise<https.RequestOptions>((resolve, reject) => {
      const req = https.get(emu.jwksUri, { ca: emu.ca, agent: false }, (res) => {
        const cert = (res.socket as import('node:tls').TLSSocket).getPeerCertificate();
        res.resume();
        resolve({ host: cert.subjectaltname });
      });
      req.on('error', reject);
    });
    expect(peer.host).to.contain('DNS:localhost').and.contain('IP Address:127.0.0.1');
  });

  it('ClientSecretCredential gets a token that verifies against the JWKS', async () => {
    const started = Date.now();
    const accessToken = await credential().getToken('api://orders/.default');
    expect(accessToken).to.not.equal(null);
    const { token, expiresOnTimestamp, refreshAfterTimestamp } = accessToken!;
    expect(expiresOnTimestamp).to.be.within(started + 3590_000, Date.now() + 3601_000);
    // refresh_in is passed through by MSAL
    expect(refreshAfterTimestamp).to.be.within(started + 1790_000, Date.now() + 1801_000);

    expect(emu.isIssued(token)).to.include({ clientId: DEFAULT_CLIENT_ID, audience: 'api://orders' });
    // jose 6 fetches with the global fetch, which cannot take a CA: fetch the JWKS ourselves.
    const jwks = createLocalJWKSet((await request(emu.jwksUri, { ca: emu.ca })).json() as unknown as JSONWebKeySet);
    const { payload } = await jwtVerify(token, jwks, { issuer: emu.issuer(DEFAULT_TENANT_ID, 1), audience: 'api://orders' });
    expect(payload['roles']).to.deep.equal(['Orders.Read']);

    // What MSAL sent: discovery, then the token POST with its telemetry fields and a client-request-id query.
    const [tokenRequest] = emu.tokenRequests;
    expect(tokenRequest!.query).to.have.property('client-request-id');
    expect(tokenRequest!.form).to.include({ grant_type: 'client_credentials', client_id: DEFAULT_CLIENT_ID, scope: 'api://orders/.default' });
    expect(tokenRequest!.form).to.have.property('x-client-SKU');
    expect(tokenRequest!.form).to.have.property('x-client-current-telemetry');
    expect(emu.requests.some((r) => r.path.endsWith('/v2.0/.well-known/openid-configuration'))).to.equal(true);
  });

  // @azure/identity 4.13 wraps MSAL's ServerError in AuthenticationRequiredError
  // (msal/utils.js handleMsalError); the AADSTS text survives in the message.
  it('a wrong secret makes getToken reject with the AADSTS7000215 text', async () => {
    const error = await credential('wrong-secret').getToken('api://orders/.default').then(
      () => {
        throw new Error('expected getToken to fail');
      },
      (err: unknown) => err,
    );
    expect(error).to.be.instanceOf(Error);
    expect((error as Error).name).to.be.oneOf([AuthenticationError.name, AuthenticationRequiredError.name]);
    expect((error as Error).message).to.contain('AADSTS7000215');
    expect(emu.tokenRequests.map((r) => r.form['client_secret'])).to.include('wrong-secret');
  });

  it('a queued 503 is retried by the credential’s pipeline and then succeeds', async () => {
    emu.fail({ kind: 'throttle', status: 503, retryAfter: 0 });
    const accessToken = await credential().getToken('api://orders/.default');
    expect(emu.isIssued(accessToken!.token)).to.not.equal(undefined);
    expect(emu.tokenRequests.map((r) => r.fault?.kind ?? 'none')).to.deep.equal(['throttle', 'none']);
  });

  describe('from environment variables', () => {
    let restoreEnv: () => void = () => undefined;
    beforeEach(() => {
      restoreEnv = saveEnv(ENV_NAMES);
      process.env['AZURE_TENANT_ID'] = DEFAULT_TENANT_ID;
      process.env['AZURE_CLIENT_ID'] = DEFAULT_CLIENT_ID;
      process.env['AZURE_CLIENT_SECRET'] = DEFAULT_CLIENT_SECRET;
      process.env['AZURE_AUTHORITY_HOST'] = emu.url;
    });
    afterEach(() => restoreEnv());

    it('EnvironmentCredential gets a token', async () => {
      const accessToken = await new EnvironmentCredential({ disableInstanceDiscovery: true, tlsOptions: { ca: emu.ca } }).getToken(
        'api://orders/.default',
      );
      expect(emu.isIssued(accessToken!.token)).to.include({ tenantId: DEFAULT_TENANT_ID });
    });

    it('DefaultAzureCredential gets a token through its environment step', async () => {
      const accessToken = await new DefaultAzureCredential({ disableInstanceDiscovery: true, tlsOptions: { ca: emu.ca } }).getToken(
        'api://orders/.default',
      );
      expect(emu.isIssued(accessToken!.token)).to.include({ audience: 'api://orders' });
    });
  });

  it('plain http still works for clients that allow it', async () => {
    const plain = await startEntraEmulator();
    try {
      expect((await request(plain.tokenUrl(), { form: v2Form() })).status).to.equal(200);
      expect(() => new ClientSecretCredential(DEFAULT_TENANT_ID, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, { authorityHost: plain.url })).to.throw(
        /https/,
      );
    } finally {
      await plain.close();
    }
  });
});
