import { expect } from 'chai';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import {
  DEFAULT_CLIENT_ID,
  DEFAULT_CLIENT_SECRET,
  DEFAULT_TENANT_ID,
  startEntraEmulator,
  type EntraEmulator,
} from '../../../lib/testing/index.js';
import { request, requestError, v1Form, v2Form } from './client.js';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const OTHER_CLIENT = { clientId: '5d2c7a10-1111-4a4a-8b8b-000000000001', clientSecret: 'other-secret' };

describe('Entra emulator: the normal path', () => {
  let emu: EntraEmulator;

  before(async () => {
    emu = await startEntraEmulator({
      clients: [{ clientId: DEFAULT_CLIENT_ID, clientSecret: DEFAULT_CLIENT_SECRET }, OTHER_CLIENT],
    });
  });
  afterEach(() => emu.reset());
  after(() => emu.close());

  it('listens on loopback and exposes consistent URLs', () => {
    expect(emu.url).to.match(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(emu.ca).to.equal(undefined);
    expect(emu.tokenUrl()).to.equal(`${emu.url}/${DEFAULT_TENANT_ID}/oauth2/v2.0/token`);
    expect(emu.tokenUrl(undefined, 'v1')).to.equal(`${emu.url}/${DEFAULT_TENANT_ID}/oauth2/token`);
    expect(emu.issuer()).to.equal(`${emu.url}/${DEFAULT_TENANT_ID}/v2.0`);
    expect(emu.issuer(undefined, 2)).to.equal(`${emu.url}/${DEFAULT_TENANT_ID}/v2.0`);
    expect(emu.issuer(undefined, 1)).to.equal(`https://sts.windows.net/${DEFAULT_TENANT_ID}/`);
    expect(emu.knownAuthorities).to.deep.equal([new URL(emu.url).host]);
    expect(() => emu.issuer('nope.example.com')).to.throw(/not a tenant/);
  });

  it('answers a v2 request with the v2 shape (numbers as numbers, no refresh_in by default)', async () => {
    const res = await request(`${emu.tokenUrl()}?client-request-id=abc`, { form: v2Form() });
    expect(res.status).to.equal(200);
    expect(res.headers['content-type']).to.match(/^application\/json/);
    expect(res.headers['cache-control']).to.contain('no-store');
    const body = res.json();
    expect(Object.keys(body).sort()).to.deep.equal(['access_token', 'expires_in', 'ext_expires_in', 'token_type']);
    expect(body['token_type']).to.equal('Bearer');
    expect(body['expires_in']).to.equal(3599);
    expect(body['ext_expires_in']).to.equal(3599);
    expect(body['access_token']).to.be.a('string').and.match(/^[\w-]+\.[\w-]+\.[\w-]+$/);
  });

  it('answers a v1 request with the v1 shape (numbers as strings, resource echoed)', async () => {
    const before = Math.floor(Date.now() / 1000);
    const res = await request(emu.tokenUrl(undefined, 'v1'), { form: v1Form() });
    expect(res.status).to.equal(200);
    const body = res.json();
    expect(body['token_type']).to.equal('Bearer');
    expect(body['expires_in']).to.equal('3599');
    expect(body['ext_expires_in']).to.equal('3599');
    expect(body['resource']).to.equal('https://legacy.example.com');
    expect(body['expires_on']).to.be.a('string');
    expect(body['not_before']).to.be.a('string');
    const expiresOn = Number(body['expires_on']);
    expect(expiresOn).to.be.within(before + 3599, before + 3601);
    expect(Number(body['not_before'])).to.be.within(before, before + 2);
    const verified = await jwtVerify(String(body['access_token']), createRemoteJWKSet(new URL(emu.jwksUri)), {
      audience: 'https://legacy.example.com',
      issuer: emu.issuer(undefined, 1),
    });
    expect(verified.payload.exp).to.equal(expiresOn);
  });

  it('issues RS256 tokens that verify against the JWKS, with Entra v1 app claims by default (an unregistered API is v1)', async () => {
    const res = await request(emu.tokenUrl(), { form: v2Form() });
    const token = String(res.json()['access_token']);
    const header = decodeProtectedHeader(token);
    expect(header.alg).to.equal('RS256');
    expect(header.typ).to.equal('JWT');
    expect(header.kid).to.be.a('string');
    expect(header.x5t).to.equal(header.kid);
    const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(emu.jwksUri)), {
      issuer: `https://sts.windows.net/${DEFAULT_TENANT_ID}/`,
      audience: 'api://orders',
      algorithms: ['RS256'],
    });
    expect(payload.tid).to.equal(DEFAULT_TENANT_ID);
    expect(payload['appid']).to.equal(DEFAULT_CLIENT_ID);
    expect(payload['appidacr']).to.equal('1');
    expect(payload['ver']).to.equal('1.0');
    expect(payload).to.not.have.any.keys('azp', 'azpacr', 'idtyp', 'jti');
    expect(payload.oid).to.match(GUID);
    expect(payload.sub).to.equal(payload.oid);
    expect(payload['roles']).to.equal(undefined);
    expect(payload['uti']).to.be.a('string');
    expect(payload.exp! - payload.iat!).to.equal(3599);
    expect(payload.nbf).to.equal(payload.iat);
  });

  it('gives each client a stable oid and every request a unique token', async () => {
    const [a, b, c] = await Promise.all([
      request(emu.tokenUrl(), { form: v2Form() }),
      request(emu.tokenUrl(), { form: v2Form() }),
      request(emu.tokenUrl(), { form: v2Form({ client_id: OTHER_CLIENT.clientId, client_secret: OTHER_CLIENT.clientSecret }) }),
    ]);
    const tokens = [a, b, c].map((res) => String(res.json()['access_token']));
    expect(new Set(tokens).size).to.equal(3);
    const claims = tokens.map((token) => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>);
    expect(claims[0]!['oid']).to.equal(claims[1]!['oid']);
    expect(claims[2]!['oid']).to.not.equal(claims[0]!['oid']);
    expect(claims[0]!['uti']).to.not.equal(claims[1]!['uti']);
  });

  it('records issued tokens and recognises them', async () => {
    const res = await request(emu.tokenUrl(), { form: v2Form() });
    const token = String(res.json()['access_token']);
    expect(emu.issued).to.have.length(1);
    const record = emu.isIssued(token);
    expect(record).to.include({ token, clientId: DEFAULT_CLIENT_ID, tenantId: DEFAULT_TENANT_ID, audience: 'api://orders', scope: 'api://orders/.default' });
    expect(record!.expiresAt - record!.issuedAt).to.equal(3599 * 1000);
    expect(emu.isIssued(`${token}x`)).to.equal(undefined);
    const v1 = await request(emu.tokenUrl(undefined, 'v1'), { form: v1Form() });
    expect(emu.isIssued(String(v1.json()['access_token']))).to.include({ resource: 'https://legacy.example.com' });
  });

  it('serves OpenID configuration with the four fields MSAL needs, pointing at itself', async () => {
    const res = await request(`${emu.url}/${DEFAULT_TENANT_ID}/v2.0/.well-known/openid-configuration`);
    expect(res.status).to.equal(200);
    const config = res.json();
    expect(config['issuer']).to.equal(emu.issuer());
    expect(config['token_endpoint']).to.equal(emu.tokenUrl());
    expect(config['authorization_endpoint']).to.equal(`${emu.url}/${DEFAULT_TENANT_ID}/oauth2/v2.0/authorize`);
    const jwks = await request(String(config['jwks_uri']));
    const keys = jwks.json()['keys'] as Record<string, unknown>[];
    expect(keys).to.have.length(1);
    expect(keys[0]).to.include({ kty: 'RSA', use: 'sig' });
    expect(keys[0]).to.have.keys('kty', 'use', 'kid', 'x5t', 'n', 'e', 'x5c', 'issuer');
    expect(keys[0]).to.not.have.any.keys('alg', 'd');

    const unknown = await request(`${emu.url}/nope.example.com/v2.0/.well-known/openid-configuration`);
    expect(unknown.status).to.equal(400);
    expect(unknown.json()['error_codes']).to.deep.equal([90002]);
  });

  it('tolerates instance discovery', async () => {
    const res = await request(
      `${emu.url}/common/discovery/instance?api-version=1.1&authorization_endpoint=${encodeURIComponent(`${emu.url}/${DEFAULT_TENANT_ID}/oauth2/v2.0/authorize`)}`,
    );
    expect(res.status).to.equal(200);
    const body = res.json();
    expect(body['tenant_discovery_endpoint']).to.equal(`${emu.url}/${DEFAULT_TENANT_ID}/v2.0/.well-known/openid-configuration`);
    expect(body['metadata']).to.be.an('array').with.length(1);
  });

  it('records every request, token POSTs apart, with the raw form and query', async () => {
    await request(`${emu.url}/${DEFAULT_TENANT_ID}/v2.0/.well-known/openid-configuration`);
    await request(`${emu.tokenUrl()}?client-request-id=req-1`, { form: v2Form({ 'x-client-SKU': 'msal.js.node' }) });
    await request(emu.tokenUrl()); // a GET: recorded, but not a token request
    await request(emu.tokenUrl(undefined, 'v1'), { form: v1Form({ client_secret: 'wrong' }) });
    expect(emu.requests.map((r) => `${r.method} ${r.path}`)).to.deep.equal([
      `GET /${DEFAULT_TENANT_ID}/v2.0/.well-known/openid-configuration`,
      `POST /${DEFAULT_TENANT_ID}/oauth2/v2.0/token`,
      `GET /${DEFAULT_TENANT_ID}/oauth2/v2.0/token`,
      `POST /${DEFAULT_TENANT_ID}/oauth2/token`,
    ]);
    const tokenRequests = emu.tokenRequests;
    expect(tokenRequests).to.have.length(2);
    expect(tokenRequests[0]!.query).to.deep.equal({ 'client-request-id': 'req-1' });
    expect(tokenRequests[0]!.form).to.include({ client_secret: DEFAULT_CLIENT_SECRET, 'x-client-SKU': 'msal.js.node' });
    expect(tokenRequests[0]!.headers['content-type']).to.equal('application/x-www-form-urlencoded');
    expect(tokenRequests[1]!.form['client_secret']).to.equal('wrong');
    expect(tokenRequests[0]!.receivedAt).to.be.at.most(tokenRequests[1]!.receivedAt);
    emu.reset();
    expect(emu.requests).to.deep.equal([]);
    expect(emu.tokenRequests).to.deep.equal([]);
    expect(emu.issued).to.deep.equal([]);
  });
});

describe('Entra emulator: AADSTS errors', () => {
  let emu: EntraEmulator;
  const TENANT_B = 'b0b0b0b0-0000-4000-8000-00000000000b';
  const BOUND = { clientId: 'c1c1c1c1-0000-4000-8000-0000000000c1', clientSecret: 's3cret', tenantId: TENANT_B };

  before(async () => {
    emu = await startEntraEmulator({
      tenants: [DEFAULT_TENANT_ID, TENANT_B],
      clients: [{ clientId: DEFAULT_CLIENT_ID, clientSecret: DEFAULT_CLIENT_SECRET }, BOUND],
      resources: [{ audience: 'api://orders' }],
    });
  });
  after(() => emu.close());

  const AADSTS_DESCRIPTION =
    /^AADSTS(\d+): .+ Trace ID: [0-9a-f-]{36} Correlation ID: (\S+) Timestamp: \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/;

  async function expectError(
    url: string,
    form: Record<string, string>,
    status: number,
    error: string,
    code: number,
  ): Promise<Record<string, unknown>> {
    const res = await request(url, { form });
    expect(res.status, JSON.stringify(res.json())).to.equal(status);
    expect(res.headers['content-type']).to.match(/^application\/json/);
    const body = res.json();
    expect(body['error']).to.equal(error);
    expect(body['error_codes']).to.deep.equal([code]);
    const description = String(body['error_description']);
    const match = AADSTS_DESCRIPTION.exec(description);
    expect(match, description).to.not.equal(null);
    expect(match![1]).to.equal(String(code));
    expect(match![2]).to.equal(body['correlation_id']);
    expect(body['trace_id']).to.match(GUID);
    expect(description).to.contain(`Trace ID: ${String(body['trace_id'])}`);
    expect(description).to.contain(`Timestamp: ${String(body['timestamp'])}`);
    return body;
  }

  it('unknown tenant → 400 invalid_request AADSTS90002', async () => {
    const body = await expectError(emu.tokenUrl('contoso.example'), v2Form(), 400, 'invalid_request', 90002);
    expect(body['error_description']).to.contain("Tenant 'contoso.example' not found");
  });

  it('wrong secret → 401 invalid_client AADSTS7000215', async () => {
    await expectError(emu.tokenUrl(), v2Form({ client_secret: 'nope' }), 401, 'invalid_client', 7000215);
    await expectError(emu.tokenUrl(undefined, 'v1'), v1Form({ client_secret: 'nope' }), 401, 'invalid_client', 7000215);
  });

  it('missing secret → 401 invalid_client AADSTS7000218', async () => {
    await expectError(emu.tokenUrl(), v2Form({ client_secret: undefined }), 401, 'invalid_client', 7000218);
  });

  it('unknown client, or a client of another tenant → 400 unauthorized_client AADSTS700016', async () => {
    await expectError(emu.tokenUrl(), v2Form({ client_id: 'd0d0d0d0-0000-4000-8000-000000000000' }), 400, 'unauthorized_client', 700016);
    const bound = v2Form({ client_id: BOUND.clientId, client_secret: BOUND.clientSecret });
    await expectError(emu.tokenUrl(DEFAULT_TENANT_ID), bound, 400, 'unauthorized_client', 700016);
    const ok = await request(emu.tokenUrl(TENANT_B), { form: bound });
    expect(ok.status).to.equal(200);
  });

  it('wrong grant type → 400 unsupported_grant_type', async () => {
    await expectError(emu.tokenUrl(), v2Form({ grant_type: 'password' }), 400, 'unsupported_grant_type', 70003);
  });

  it('missing parameters → 400 invalid_request AADSTS900144', async () => {
    await expectError(emu.tokenUrl(), v2Form({ grant_type: undefined }), 400, 'invalid_request', 900144);
    await expectError(emu.tokenUrl(), v2Form({ scope: undefined }), 400, 'invalid_request', 900144);
    await expectError(emu.tokenUrl(undefined, 'v1'), v1Form({ resource: undefined }), 400, 'invalid_request', 900144);
  });

  it('a scope that is not <resource>/.default → 400 invalid_scope AADSTS1002012; two resources → AADSTS28000', async () => {
    const body = await expectError(emu.tokenUrl(), v2Form({ scope: 'api://orders' }), 400, 'invalid_scope', 1002012);
    expect(body['error_description']).to.contain('/.default');
    await expectError(emu.tokenUrl(), v2Form({ scope: 'api://orders/read' }), 400, 'invalid_scope', 1002012);
    const two = await expectError(emu.tokenUrl(), v2Form({ scope: 'api://orders/.default api://x/.default' }), 400, 'invalid_scope', 28000);
    expect(two['error_description']).to.contain('contains more than one resource');
  });

  it('an audience that is not registered in resources → 400 invalid_resource AADSTS500011', async () => {
    await expectError(emu.tokenUrl(), v2Form({ scope: 'api://unknown/.default' }), 400, 'invalid_resource', 500011);
  });

  it('uses the caller’s client-request-id as the correlation id', async () => {
    const body = await expectError(
      `${emu.tokenUrl()}?client-request-id=7e57c0de-0000-4000-8000-000000000001`,
      v2Form({ client_secret: 'nope' }),
      401,
      'invalid_client',
      7000215,
    );
    expect(body['correlation_id']).to.equal('7e57c0de-0000-4000-8000-000000000001');
  });

  it('GET on a token endpoint → 400 AADSTS900561, not counted as a token request', async () => {
    emu.reset();
    const res = await request(emu.tokenUrl());
    expect(res.status).to.equal(400);
    expect(res.json()['error_codes']).to.deep.equal([900561]);
    expect(emu.tokenRequests).to.have.length(0);
  });

  it('unknown paths → 404', async () => {
    const res = await request(`${emu.url}/nothing/here`);
    expect(res.status).to.equal(404);
  });
});

describe('Entra emulator: options', () => {
  it('registers verified domains as tenants with a GUID tenant id', async () => {
    const emu = await startEntraEmulator({ tenants: ['contoso.onmicrosoft.com'] });
    try {
      const res = await request(emu.tokenUrl(), { form: v2Form() });
      expect(emu.tokenUrl()).to.contain('/contoso.onmicrosoft.com/');
      const { payload } = await jwtVerify(String(res.json()['access_token']), createRemoteJWKSet(new URL(emu.jwksUri)), {
        issuer: emu.issuer('contoso.onmicrosoft.com', 1),
      });
      expect(payload.tid).to.match(GUID);
      expect(emu.issuer(String(payload.tid), 1)).to.equal(payload.iss);
    } finally {
      await emu.close();
    }
  });

  it('puts app roles in the roles claim, per client and audience', async () => {
    const emu = await startEntraEmulator({
      resources: [
        { audience: 'api://orders', appRoles: { [DEFAULT_CLIENT_ID]: ['Orders.Read', 'Orders.Write'] } },
        { audience: 'api://billing' },
      ],
    });
    try {
      const jwks = createRemoteJWKSet(new URL(emu.jwksUri));
      const orders = await request(emu.tokenUrl(), { form: v2Form() });
      const { payload } = await jwtVerify(String(orders.json()['access_token']), jwks, { audience: 'api://orders' });
      expect(payload['roles']).to.deep.equal(['Orders.Read', 'Orders.Write']);
      const billing = await request(emu.tokenUrl(), { form: v2Form({ scope: 'api://billing/.default' }) });
      const other = await jwtVerify(String(billing.json()['access_token']), jwks, { audience: 'api://billing' });
      expect(other.payload['roles']).to.equal(undefined);
      expect(emu.issued[0]!.roles).to.deep.equal(['Orders.Read', 'Orders.Write']);
    } finally {
      await emu.close();
    }
  });

  it('honours tokenLifetimeSeconds, refreshInSeconds, latencyMs and port', async () => {
    const probe = await startEntraEmulator();
    const port = Number(new URL(probe.url).port);
    await probe.close();
    const emu = await startEntraEmulator({ port, tokenLifetimeSeconds: 120, refreshInSeconds: 60, latencyMs: 150 });
    try {
      expect(emu.url).to.equal(`http://127.0.0.1:${port}`);
      const started = Date.now();
      const res = await request(emu.tokenUrl(), { form: v2Form() });
      expect(Date.now() - started).to.be.at.least(140);
      const body = res.json();
      expect(body).to.include({ expires_in: 120, ext_expires_in: 120, refresh_in: 60 });
      const v1 = await request(emu.tokenUrl(undefined, 'v1'), { form: v1Form() });
      expect(v1.json()).to.include({ expires_in: '120' }).and.not.have.property('refresh_in');
      // discovery is not delayed
      const t = Date.now();
      await request(emu.jwksUri);
      expect(Date.now() - t).to.be.below(140);
    } finally {
      await emu.close();
    }
  });

  it('close() ends a hung request and does not hang itself', async () => {
    const emu = await startEntraEmulator();
    emu.fail({ kind: 'hang' });
    const pending = requestError(emu.tokenUrl(), { form: v2Form() });
    while (emu.tokenRequests.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    const started = Date.now();
    await emu.close();
    expect(Date.now() - started).to.be.below(1000);
    const error = await pending;
    expect(error.message).to.match(/socket hang up|ECONNRESET|aborted/);
    await emu.close(); // idempotent
  });
});
