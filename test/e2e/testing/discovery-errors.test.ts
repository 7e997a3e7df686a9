// Issue 19, items 3 and 4: discovery and keys as Entra serves them; errors, faults included,
// as Entra sends them (the caller's correlation id, x-ms-request-id = trace_id); MFA and consent
// faults only for delegated requests.
import { expect } from 'chai';
import { DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_TENANT_ID, startEntraEmulator, type EntraEmulator } from '../../../lib/testing/index.js';
import { request, v2Form } from './client.js';

const CORRELATION = '5ca1ab1e-0000-4000-8000-00000000c0de';
const DESCRIPTION = /^AADSTS(\d+): .+ Trace ID: ([0-9a-f-]{36}) Correlation ID: (\S+) Timestamp: (\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ)$/;

describe('emulator: discovery and keys as Entra serves them', () => {
  let idp: EntraEmulator;
  before(async () => {
    idp = await startEntraEmulator();
  });
  after(() => idp.close());

  const doc = async (path: string): Promise<Record<string, unknown>> => {
    const res = await request(`${idp.url}${path}`);
    expect(res.status, path).to.equal(200);
    return res.json();
  };

  it('common and organizations: v2 documents with the {tenantid} issuer and their own endpoints', async () => {
    for (const authority of ['common', 'organizations']) {
      const v2 = await doc(`/${authority}/v2.0/.well-known/openid-configuration`);
      expect(v2).to.include({
        issuer: `${idp.url}/{tenantid}/v2.0`,
        token_endpoint: `${idp.url}/${authority}/oauth2/v2.0/token`,
        authorization_endpoint: `${idp.url}/${authority}/oauth2/v2.0/authorize`,
        jwks_uri: `${idp.url}/${authority}/discovery/v2.0/keys`,
        tenant_region_scope: null,
        cloud_instance_name: 'microsoftonline.com',
      });
      const v1 = await doc(`/${authority}/.well-known/openid-configuration`);
      expect(v1['issuer']).to.equal('https://sts.windows.net/{tenantid}/');
    }
    expect((await request(`${idp.url}/consumers/v2.0/.well-known/openid-configuration`)).status).to.equal(400);
  });

  it('a tenant: the v2 document names the v2 issuer; the v1 document the sts.windows.net issuer, /oauth2/token and /discovery/keys', async () => {
    const v2 = await doc(`/${DEFAULT_TENANT_ID}/v2.0/.well-known/openid-configuration`);
    expect(v2).to.include({ issuer: idp.issuer(), token_endpoint: idp.tokenUrl(), cloud_instance_name: 'microsoftonline.com', msgraph_host: 'graph.microsoft.com' });
    const v1 = await doc(`/${DEFAULT_TENANT_ID}/.well-known/openid-configuration`);
    expect(v1).to.include({
      issuer: `https://sts.windows.net/${DEFAULT_TENANT_ID}/`,
      token_endpoint: `${idp.url}/${DEFAULT_TENANT_ID}/oauth2/token`,
      authorization_endpoint: `${idp.url}/${DEFAULT_TENANT_ID}/oauth2/authorize`,
      jwks_uri: `${idp.url}/common/discovery/keys`,
      cloud_instance_name: 'microsoftonline.com',
    });
    const keys = (await doc(String(v2['jwks_uri']).replace(idp.url, '')))['keys'] as Record<string, unknown>[];
    expect(keys[0]).to.include({ issuer: idp.issuer() });
    const v1Keys = (await doc('/common/discovery/keys'))['keys'] as Record<string, unknown>[];
    expect(v1Keys[0]).to.have.keys('kty', 'use', 'kid', 'x5t', 'n', 'e', 'x5c');
  });
});

describe('emulator: errors as Entra sends them', () => {
  let idp: EntraEmulator;
  before(async () => {
    idp = await startEntraEmulator({ resources: [{ audience: 'api://orders' }] });
  });
  afterEach(() => idp.reset());
  after(() => idp.close());

  /** The parsed AADSTS body, after checking its shape and that x-ms-request-id is its trace_id. */
  function aadsts(res: Awaited<ReturnType<typeof request>>, code: number, correlationId: string): Record<string, unknown> {
    const body = res.json();
    expect(body).to.include.keys('error', 'error_description', 'error_codes', 'timestamp', 'trace_id', 'correlation_id');
    expect(body['error_codes']).to.deep.equal([code]);
    const match = DESCRIPTION.exec(String(body['error_description']));
    expect(match, String(body['error_description'])).to.not.equal(null);
    expect(match!.slice(1)).to.deep.equal([String(code), body['trace_id'], correlationId, body['timestamp']]);
    expect(body['correlation_id']).to.equal(correlationId);
    expect(res.headers['x-ms-request-id']).to.equal(body['trace_id']);
    return body;
  }

  it('echoes client-request-id from the header, the query or the form as correlation_id', async () => {
    const bad = v2Form({ client_secret: 'wrong' });
    const viaHeader = await request(idp.tokenUrl(), { form: bad, headers: { 'client-request-id': `${CORRELATION}-h` } });
    const viaQuery = await request(`${idp.tokenUrl()}?client-request-id=${CORRELATION}-q`, { form: bad });
    const viaForm = await request(idp.tokenUrl(), { form: { ...bad, 'client-request-id': `${CORRELATION}-f` } });
    aadsts(viaHeader, 7000215, `${CORRELATION}-h`);
    aadsts(viaQuery, 7000215, `${CORRELATION}-q`);
    aadsts(viaForm, 7000215, `${CORRELATION}-f`);
  });

  it('faults too: status (AADSTS50000 by default), throttle, oauth-error and consent echo the correlation id, and x-ms-request-id = trace_id', async () => {
    idp.fail({ kind: 'status', status: 500 });
    idp.fail({ kind: 'throttle', retryAfter: 3 });
    idp.fail({ kind: 'oauth-error', error: 'unauthorized_client' });
    const call = () => request(idp.tokenUrl(), { form: v2Form(), headers: { 'client-request-id': CORRELATION } });
    const status = await call();
    expect(status.status).to.equal(500);
    expect(aadsts(status, 50000, CORRELATION)).to.include({ error: 'server_error' });
    const throttled = await call();
    expect(throttled.headers['retry-after']).to.equal('3');
    expect(aadsts(throttled, 90055, CORRELATION)).to.include({ error: 'temporarily_unavailable' });
    expect(aadsts(await call(), 700016, CORRELATION)).to.include({ error: 'unauthorized_client' });
  });

  it('interaction-required and consent-required faults wait for a delegated request: client credentials pass them by', async () => {
    idp.fail({ kind: 'interaction-required' });
    idp.fail({ kind: 'consent-required' });
    const app = await request(idp.tokenUrl(), { form: v2Form() });
    expect(app.status).to.equal(200);
    expect(idp.tokenRequests[0]!.fault).to.equal(undefined);
    const obo = (assertion: string) =>
      request(idp.tokenUrl(), {
        form: { grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', requested_token_use: 'on_behalf_of', assertion, scope: 'api://orders/Orders.Read', client_id: DEFAULT_CLIENT_ID, client_secret: DEFAULT_CLIENT_SECRET },
        headers: { 'client-request-id': CORRELATION },
      });
    const user = await idp.issueUserToken();
    const mfa = await obo(user);
    expect(aadsts(mfa, 50076, CORRELATION)).to.include({ error: 'invalid_grant', suberror: 'basic_action' });
    expect(aadsts(await obo(user), 65001, CORRELATION)).to.include({ suberror: 'consent_required' });
    expect((await obo(user)).status).to.equal(200);
  });
});
