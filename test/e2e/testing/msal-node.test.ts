// Issue 19, item 6: Microsoft's own client, @azure/msal-node, against the emulator over https,
// with `knownAuthorities` and `msalNetworkClient(emulator)` (MSAL's own client is the global
// fetch, which cannot trust a CA). What MSAL sees must be what it sees from Entra.
import { ConfidentialClientApplication, InteractionRequiredAuthError, ServerError, type Configuration } from '@azure/msal-node';
import { expect } from 'chai';
import { X509Certificate, randomUUID } from 'node:crypto';
import { createLocalJWKSet, decodeJwt, jwtVerify, type JSONWebKeySet } from 'jose';
import {
  DEFAULT_CLIENT_ID,
  DEFAULT_CLIENT_SECRET,
  DEFAULT_TENANT_ID,
  msalNetworkClient,
  startEntraEmulator,
  type EntraEmulator,
} from '../../../lib/testing/index.js';
import { makeCertificate, type TestCertificate } from '../../helpers/certificates.js';
import { request } from './client.js';

const CERT_CLIENT = '4b1d2c3e-0000-4000-8000-0000000000ce';
const BILLING_APP_ID = '9a8b7c6d-1111-4222-8333-444455556666';

describe('@azure/msal-node against the emulator', () => {
  let idp: EntraEmulator;
  let cert: TestCertificate;
  let keys: ReturnType<typeof createLocalJWKSet>;

  before(async () => {
    cert = await makeCertificate('msal cert client');
    idp = await startEntraEmulator({
      https: true,
      clients: [
        { clientId: DEFAULT_CLIENT_ID, clientSecret: DEFAULT_CLIENT_SECRET, accessTokenVersion: 2 },
        { clientId: CERT_CLIENT, certificate: cert.certificate },
      ],
      resources: [
        { audience: 'api://orders', appRoles: { [DEFAULT_CLIENT_ID]: ['Orders.Read'], [CERT_CLIENT]: ['Orders.Read'] } },
        { audience: 'api://billing', appId: BILLING_APP_ID, accessTokenVersion: 2 },
      ],
    });
    keys = createLocalJWKSet((await request(idp.jwksUri, { ca: idp.ca })).json() as unknown as JSONWebKeySet);
  });
  afterEach(() => idp.reset());
  after(() => idp.close());

  /** What MSAL needs for the emulator: the authority, `knownAuthorities`, and a network client that trusts its CA. */
  function app(auth: Partial<Configuration['auth']> = { clientSecret: DEFAULT_CLIENT_SECRET }): ConfidentialClientApplication {
    return new ConfidentialClientApplication({
      auth: { clientId: DEFAULT_CLIENT_ID, authority: `${idp.url}/${DEFAULT_TENANT_ID}`, knownAuthorities: idp.knownAuthorities, ...auth },
      system: { networkClient: msalNetworkClient(idp) },
    });
  }

  function certificateApp(): ConfidentialClientApplication {
    const thumbprintSha256 = new X509Certificate(cert.certificate).fingerprint256.replaceAll(':', '');
    return app({ clientId: CERT_CLIENT, clientCertificate: { thumbprintSha256, privateKey: cert.privateKey } });
  }

  it('client credentials with a secret: a v1 token for a v1 API, then fromCache on the second call', async () => {
    const cca = app();
    const first = await cca.acquireTokenByClientCredential({ scopes: ['api://orders/.default'] });
    expect(first).to.include({ fromCache: false, tokenType: 'Bearer' });
    const { payload } = await jwtVerify(first!.accessToken, keys, { issuer: idp.issuer(DEFAULT_TENANT_ID, 1), audience: 'api://orders' });
    expect(payload).to.include({ appid: DEFAULT_CLIENT_ID, appidacr: '1', ver: '1.0' });
    expect(payload['roles']).to.deep.equal(['Orders.Read']);
    const second = await cca.acquireTokenByClientCredential({ scopes: ['api://orders/.default'] });
    expect(second).to.include({ fromCache: true, accessToken: first!.accessToken });
    expect(idp.tokenRequests).to.have.length(1);
    // MSAL found the authority without the public cloud: only the emulator was asked.
    expect(idp.requests.map((r) => r.path)).to.include(`/${DEFAULT_TENANT_ID}/v2.0/.well-known/openid-configuration`);
  });

  it('one certificate app for two resources: its assertion is reused, and both tokens say appidacr/azpacr "2"', async () => {
    const cca = certificateApp();
    const orders = await cca.acquireTokenByClientCredential({ scopes: ['api://orders/.default'] });
    const billing = await cca.acquireTokenByClientCredential({ scopes: ['api://billing/.default'] });
    expect(decodeJwt(orders!.accessToken)).to.include({ aud: 'api://orders', appid: CERT_CLIENT, appidacr: '2', ver: '1.0' });
    expect(decodeJwt(billing!.accessToken)).to.include({ aud: BILLING_APP_ID, azp: CERT_CLIENT, azpacr: '2', ver: '2.0' });
    const assertions = idp.tokenRequests.map((r) => r.form['client_assertion']);
    expect(assertions).to.have.length(2);
    expect(assertions[0]).to.be.a('string').and.equal(assertions[1]);
    expect((await cca.acquireTokenByClientCredential({ scopes: ['api://billing/.default'] }))!.fromCache).to.equal(true);
  });

  it('acquireTokenOnBehalfOf: a delegated token, an account built from id_token and client_info, then fromCache', async () => {
    const cca = app();
    const userToken = await idp.issueUserToken({ oid: '11111111-aaaa-4bbb-8ccc-000000000001', name: 'Alice Smith' });
    const first = await cca.acquireTokenOnBehalfOf({ oboAssertion: userToken, scopes: ['api://orders/Orders.Read'] });
    expect(first!.fromCache).to.equal(false);
    expect(first!.account).to.not.equal(null);
    expect(first!.account).to.include({
      homeAccountId: `11111111-aaaa-4bbb-8ccc-000000000001.${DEFAULT_TENANT_ID}`,
      tenantId: DEFAULT_TENANT_ID,
      localAccountId: '11111111-aaaa-4bbb-8ccc-000000000001',
      username: 'alice.smith@contoso.example',
      name: 'Alice Smith',
    });
    expect(decodeJwt(first!.accessToken)).to.include({ aud: 'api://orders', scp: 'Orders.Read', appid: DEFAULT_CLIENT_ID, ver: '1.0' });
    const [exchange] = idp.tokenRequests;
    expect(exchange!.form).to.include({ client_info: '1', requested_token_use: 'on_behalf_of' });
    expect(exchange!.form['scope']).to.include('openid').and.include('offline_access');
    const second = await cca.acquireTokenOnBehalfOf({ oboAssertion: userToken, scopes: ['api://orders/Orders.Read'] });
    expect(second).to.include({ fromCache: true, accessToken: first!.accessToken });
    expect(idp.tokenRequests).to.have.length(1);
  });

  it('client credentials then OBO on one certificate app: the same assertion serves both', async () => {
    const cca = certificateApp();
    await cca.acquireTokenByClientCredential({ scopes: ['api://orders/.default'] });
    const userToken = await idp.issueUserToken({ aud: `api://${CERT_CLIENT}`, name: 'Bob' });
    const obo = await cca.acquireTokenOnBehalfOf({ oboAssertion: userToken, scopes: ['api://billing/Billing.Read'] });
    expect(decodeJwt(obo!.accessToken)).to.include({ aud: BILLING_APP_ID, azp: CERT_CLIENT, azpacr: '2', name: 'Bob' });
    expect(obo!.account?.username).to.equal('bob@contoso.example');
  });

  it('a wrong secret: a ServerError with the AADSTS number and the correlation id MSAL sent', async () => {
    const correlationId = randomUUID();
    const error = await app({ clientSecret: 'wrong-secret' })
      .acquireTokenByClientCredential({ scopes: ['api://orders/.default'], correlationId })
      .then(
        () => {
          throw new Error('expected the request to fail');
        },
        (err: unknown) => err,
      );
    expect(error).to.be.instanceOf(ServerError);
    const serverError = error as ServerError;
    expect(serverError).to.include({ errorCode: 'invalid_client', correlationId });
    expect(String(serverError.errorNo)).to.equal('7000215');
    expect(serverError.errorMessage).to.include('AADSTS7000215').and.include(`Correlation ID: ${correlationId}`);
    expect(idp.tokenRequests[0]!.query['client-request-id']).to.equal(correlationId);
  });

  it('an MFA fault on OBO: InteractionRequiredAuthError with the claims challenge; client credentials pass it by', async () => {
    idp.fail({ kind: 'interaction-required', claims: { access_token: { acrs: { essential: true, value: 'c1' } } } });
    const cca = app();
    expect((await cca.acquireTokenByClientCredential({ scopes: ['api://orders/.default'] }))!.fromCache).to.equal(false);
    const error = await cca
      .acquireTokenOnBehalfOf({ oboAssertion: await idp.issueUserToken({ name: 'Carol' }), scopes: ['api://orders/Orders.Read'] })
      .then(
        () => {
          throw new Error('expected the request to fail');
        },
        (err: unknown) => err,
      );
    expect(error).to.be.instanceOf(InteractionRequiredAuthError);
    expect(error).to.include({ claims: '{"access_token":{"acrs":{"essential":true,"value":"c1"}}}' });
    expect(String((error as InteractionRequiredAuthError).errorNo)).to.equal('50076');
  });

  it('msalNetworkClient talks only to the emulator', async () => {
    const client = msalNetworkClient(idp);
    const error = await client.sendGetRequestAsync('https://login.microsoftonline.com/common/discovery/instance').catch((err: unknown) => err as Error);
    expect(error).to.be.instanceOf(Error);
    expect((error as Error).message).to.match(/not the emulator.*knownAuthorities/);
    expect(idp.requests).to.have.length(0);
  });
});
