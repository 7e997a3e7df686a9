// Issue 19, items 1, 2 and 5: the API decides the token version, as in Entra; v1 and v2
// claims are never mixed; appidacr/azpacr say how the client authenticated; idtyp is opt-in;
// a client assertion may be used again until its exp.
import { expect } from 'chai';
import { X509Certificate, createHash, createPublicKey } from 'node:crypto';
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, importPKCS8, jwtVerify, SignJWT, type JSONWebKeySet, type JWTPayload } from 'jose';
import { DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_TENANT_ID, startEntraEmulator, type EntraEmulator, type EntraEmulatorOptions } from '../../../lib/testing/index.js';
import { makeCertificate, type TestCertificate } from '../../helpers/certificates.js';
import { request, v1Form, v2Form } from './client.js';

const V2_API = { audience: 'api://billing', appId: '3f1c9a52-7b4e-4d0a-9c61-2e8f5d7a1b90', accessTokenVersion: 2 as const };
const GUID_API = 'api://6d0e4b1a-2c3f-4a5b-8c7d-9e0f1a2b3c4d';
const CERT_CLIENT = '7c4a1e2b-0000-4000-8000-0000000000c7';
/** The TypeError startEntraEmulator rejects with (its message), or a failure if it starts. */
async function startupError(options: EntraEmulatorOptions): Promise<Error> {
  const started = await startEntraEmulator(options).then(
    async (emulator) => {
      await emulator.close();
      return undefined;
    },
    (error: unknown) => error as Error,
  );
  if (started === undefined) throw new Error(`expected ${JSON.stringify(options)} to be refused`);
  expect(started).to.be.instanceOf(TypeError);
  return started;
}

const V1_ONLY = ['appid', 'appidacr', 'upn', 'unique_name', 'acr', 'amr'];
const V2_ONLY = ['azp', 'azpacr', 'preferred_username'];

describe('emulator: tokens shaped by the API’s version, as Entra issues them', () => {
  let idp: EntraEmulator;
  let cert: TestCertificate;
  let keys: ReturnType<typeof createLocalJWKSet>;

  before(async () => {
    cert = await makeCertificate('emulator cert client');
    idp = await startEntraEmulator({
      clients: [
        { clientId: DEFAULT_CLIENT_ID, clientSecret: DEFAULT_CLIENT_SECRET },
        { clientId: CERT_CLIENT, certificate: cert.certificate },
      ],
      resources: [
        { audience: 'api://orders', appRoles: { [DEFAULT_CLIENT_ID]: ['Orders.Read'] } },
        { ...V2_API, appRoles: { [DEFAULT_CLIENT_ID]: ['Billing.Read'] } },
        { audience: 'api://audit', accessTokenVersion: 2, idtyp: true },
        { audience: 'api://legacy-idtyp', idtyp: true },
        { audience: GUID_API },
        { audience: 'https://legacy.example.com' },
      ],
    });
    keys = createLocalJWKSet((await request(idp.jwksUri)).json() as unknown as JSONWebKeySet);
  });
  after(() => idp.close());

  const tokenOf = async (url: string, form: Record<string, string>): Promise<string> => {
    const res = await request(url, { form });
    expect(res.status, res.text()).to.equal(200);
    return String(res.json()['access_token']);
  };

  async function assertion(): Promise<string> {
    const key = await importPKCS8(cert.privateKey, 'RS256');
    const thumbprint = Buffer.from(new X509Certificate(cert.certificate).fingerprint256.replaceAll(':', ''), 'hex').toString('base64url');
    return new SignJWT({})
      .setProtectedHeader({ alg: 'RS256', 'x5t#S256': thumbprint })
      .setIssuer(CERT_CLIENT)
      .setSubject(CERT_CLIENT)
      .setAudience(idp.tokenUrl())
      .setJti(crypto.randomUUID())
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(key);
  }
  const certForm = async (scope: string): Promise<Record<string, string>> => ({
    grant_type: 'client_credentials',
    client_id: CERT_CLIENT,
    client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    client_assertion: await assertion(),
    scope,
  });

  it('a v1 API (the default) gets a v1 token from either endpoint: sts.windows.net issuer, aud as asked, appid/appidacr, ver 1.0', async () => {
    for (const token of [await tokenOf(idp.tokenUrl(), v2Form()), await tokenOf(idp.tokenUrl(undefined, 'v1'), v1Form({ resource: 'api://orders' }))]) {
      const { payload } = await jwtVerify(token, keys, { issuer: `https://sts.windows.net/${DEFAULT_TENANT_ID}/`, audience: 'api://orders' });
      expect(payload).to.include({ appid: DEFAULT_CLIENT_ID, appidacr: '1', ver: '1.0', tid: DEFAULT_TENANT_ID, idp: `https://sts.windows.net/${DEFAULT_TENANT_ID}/` });
      expect(payload['roles']).to.deep.equal(['Orders.Read']);
      expect(payload).to.not.have.any.keys(...V2_ONLY, 'idtyp', 'jti');
    }
  });

  it('a v2 API gets a v2 token from either endpoint: {authority}/{tid}/v2.0 issuer, aud = appId, azp/azpacr, ver 2.0', async () => {
    const viaV2 = await tokenOf(idp.tokenUrl(), v2Form({ scope: 'api://billing/.default' }));
    const viaV1 = await tokenOf(idp.tokenUrl(undefined, 'v1'), v1Form({ resource: 'api://billing' }));
    for (const token of [viaV2, viaV1]) {
      const { payload } = await jwtVerify(token, keys, { issuer: `${idp.url}/${DEFAULT_TENANT_ID}/v2.0`, audience: V2_API.appId });
      expect(payload).to.include({ azp: DEFAULT_CLIENT_ID, azpacr: '1', ver: '2.0' });
      expect(payload['roles']).to.deep.equal(['Billing.Read']);
      expect(payload).to.not.have.any.keys(...V1_ONLY, 'idtyp');
    }
    expect(idp.isIssued(viaV2)).to.include({ audience: V2_API.appId, version: 2 });
    expect(idp.isIssued(viaV1)).to.include({ audience: V2_API.appId, version: 2, resource: 'api://billing' });
  });

  it('an API may be asked for by its appId: v2 aud is the appId; v1 aud is what was asked for', async () => {
    const v2 = decodeJwt(await tokenOf(idp.tokenUrl(), v2Form({ scope: `${V2_API.appId}/.default` })));
    expect(v2).to.include({ aud: V2_API.appId, ver: '2.0' });
    const guid = GUID_API.slice('api://'.length);
    const v1 = decodeJwt(await tokenOf(idp.tokenUrl(), v2Form({ scope: `${guid}/.default` })));
    expect(v1).to.include({ aud: guid, ver: '1.0' });
  });

  it('appId defaults: the GUID of api://<GUID>, else a stable GUID derived from the audience (the same on every run)', async () => {
    const other = await startEntraEmulator({ resources: [{ audience: 'api://orders', accessTokenVersion: 2 }] });
    const again = await startEntraEmulator({ resources: [{ audience: 'api://orders', accessTokenVersion: 2 }, { audience: GUID_API, accessTokenVersion: 2 }] });
    try {
      const first = other.tokenValidation('api://orders');
      expect(first.audience).to.match(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(again.tokenValidation('api://orders').audience).to.equal(first.audience);
      expect(again.tokenValidation(GUID_API).audience).to.equal(GUID_API.slice('api://'.length));
      const token = decodeJwt(await tokenOf(again.tokenUrl(), v2Form({ scope: 'api://orders/.default' })));
      expect(token.aud).to.equal(first.audience);
    } finally {
      await Promise.all([other.close(), again.close()]);
    }
  });

  it('tokenValidation() names the issuer and aud a resource server must check, per version', () => {
    expect(idp.tokenValidation('api://orders')).to.deep.equal({ issuer: `https://sts.windows.net/${DEFAULT_TENANT_ID}/`, audience: 'api://orders', jwksUri: idp.jwksUri, version: 1 });
    expect(idp.tokenValidation('api://billing')).to.deep.equal({ issuer: `${idp.url}/${DEFAULT_TENANT_ID}/v2.0`, audience: V2_API.appId, jwksUri: idp.jwksUri, version: 2 });
    expect(() => idp.tokenValidation('api://unknown')).to.throw(/not a resource/);
    expect(() => idp.tokenValidation('api://orders', 'nope.example.com')).to.throw(/not a tenant/);
  });

  it('idtyp only for an API that opts in: "app" for app tokens, "user" for user tokens, in either version', async () => {
    expect(decodeJwt(await tokenOf(idp.tokenUrl(), v2Form({ scope: 'api://audit/.default' })))).to.include({ idtyp: 'app', ver: '2.0' });
    expect(decodeJwt(await tokenOf(idp.tokenUrl(), v2Form({ scope: 'api://legacy-idtyp/.default' })))).to.include({ idtyp: 'app', ver: '1.0' });
    expect(decodeJwt(await idp.issueUserToken({ aud: 'api://audit' }))).to.include({ idtyp: 'user' });
    expect(decodeJwt(await idp.issueUserToken({ aud: 'api://orders' }))).to.not.have.property('idtyp');
  });

  it('appidacr/azpacr "2" for a certificate client, "1" for a secret', async () => {
    expect(decodeJwt(await tokenOf(idp.tokenUrl(), await certForm('api://orders/.default')))).to.include({ appid: CERT_CLIENT, appidacr: '2' });
    expect(decodeJwt(await tokenOf(idp.tokenUrl(), await certForm('api://billing/.default')))).to.include({ azp: CERT_CLIENT, azpacr: '2' });
    expect(decodeJwt(await tokenOf(idp.tokenUrl(), v2Form({ scope: 'api://billing/.default' })))).to.include({ azpacr: '1' });
  });

  it('a client assertion may be used again until its exp (MSAL reuses one for two resources)', async () => {
    const form = await certForm('api://orders/.default');
    const first = await request(idp.tokenUrl(), { form });
    const second = await request(idp.tokenUrl(), { form: { ...form, scope: 'api://billing/.default' } });
    expect([first.status, second.status]).to.deep.equal([200, 200]);
    expect(decodeJwt(String(second.json()['access_token']))).to.include({ aud: V2_API.appId, azp: CERT_CLIENT });
  });

  it('headers typ, kid and x5t; the JWKS key carries x5c, a self-signed certificate of the signing key whose SHA-1 thumbprint is x5t', async () => {
    const token = await tokenOf(idp.tokenUrl(), v2Form());
    const header = decodeProtectedHeader(token);
    expect(header).to.have.keys('typ', 'alg', 'kid', 'x5t');
    const [key] = ((await request(idp.jwksUri)).json() as { keys: Record<string, unknown>[] }).keys;
    expect(key).to.include({ kid: header.kid, x5t: header.x5t, issuer: `${idp.url}/{tenantid}/v2.0` });
    const der = Buffer.from((key!['x5c'] as string[])[0]!, 'base64');
    const certificate = new X509Certificate(der);
    expect(createHash('sha1').update(der).digest('base64url')).to.equal(header.x5t);
    expect(certificate.verify(certificate.publicKey)).to.equal(true);
    const fromJwk = createPublicKey({ key: { kty: 'RSA', n: key!['n'] as string, e: key!['e'] as string }, format: 'jwk' });
    expect(certificate.publicKey.equals(fromJwk)).to.equal(true);
    // The v1 key set has the same key, without Entra's per-key issuer.
    const v1 = ((await request(`${idp.url}/common/discovery/keys`)).json() as { keys: Record<string, unknown>[] }).keys;
    expect(v1[0]).to.include({ kid: header.kid }).and.not.have.property('issuer');
  });

  it('v1IssuerHost moves the v1 issuer (sovereign clouds) and is checked at start-up', async () => {
    const china = await startEntraEmulator({ v1IssuerHost: 'sts.chinacloudapi.cn' });
    try {
      const token = decodeJwt(await tokenOf(china.tokenUrl(), v2Form()));
      expect(token.iss).to.equal(`https://sts.chinacloudapi.cn/${DEFAULT_TENANT_ID}/`);
      expect(china.issuer(undefined, 1)).to.equal(token.iss);
      const v1Doc = (await request(`${china.url}/${DEFAULT_TENANT_ID}/.well-known/openid-configuration`)).json();
      expect(v1Doc['issuer']).to.equal(token.iss);
    } finally {
      await china.close();
    }
    for (const bad of ['https://sts.windows.net', 'sts windows', '']) {
      expect(await startupError({ v1IssuerHost: bad })).to.be.instanceOf(TypeError).and.match(/"v1IssuerHost" option/);
    }
  });

  it('rejects bad resources at start-up: a non-GUID appId, a version other than 1 or 2, a duplicate', async () => {
    expect(await startupError({ resources: [{ audience: 'api://a', appId: 'not-a-guid' }] })).to.match(/"appId" to be a GUID/);
    expect(await startupError({ resources: [{ audience: 'api://a', accessTokenVersion: 3 as 2 }] })).to.match(/"accessTokenVersion" 1 or 2/);
    expect(await startupError({ resources: [{ audience: 'api://a', idtyp: 'yes' as unknown as boolean }] })).to.match(/"idtyp"/);
    expect(await startupError({ resources: [{ audience: 'api://a', appId: V2_API.appId }, { audience: 'api://b', appId: V2_API.appId }] })).to.match(/twice/);
    expect(await startupError({ clients: [{ clientId: 'c', clientSecret: 's', accessTokenVersion: 0 as 1 }] })).to.match(/"accessTokenVersion"/);
  });
});

describe('emulator: user tokens and on-behalf-of answers follow the same rule', () => {
  let idp: EntraEmulator;
  let keys: ReturnType<typeof createLocalJWKSet>;
  const OBO = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

  before(async () => {
    idp = await startEntraEmulator({
      clients: [
        { clientId: DEFAULT_CLIENT_ID, clientSecret: DEFAULT_CLIENT_SECRET, accessTokenVersion: 2 },
        { clientId: 'v1-bff', clientSecret: 'v1-secret' },
      ],
      resources: [{ audience: 'api://orders' }, V2_API],
    });
    keys = createLocalJWKSet((await request(idp.jwksUri)).json() as unknown as JSONWebKeySet);
  });
  after(() => idp.close());

  const obo = (assertion: string, scope: string, extra: Record<string, string> = {}) =>
    request(idp.tokenUrl(), { form: { grant_type: OBO, requested_token_use: 'on_behalf_of', assertion, scope, client_id: DEFAULT_CLIENT_ID, client_secret: DEFAULT_CLIENT_SECRET, ...extra } });

  it('issueUserToken: a v2 API gets iss v2, aud = appId, azp/azpacr "0" (a SPA), preferred_username', async () => {
    const { payload } = await jwtVerify(await idp.issueUserToken({ name: 'Alice Smith', azp: 'spa-id' }), keys, { issuer: idp.issuer(), audience: DEFAULT_CLIENT_ID });
    expect(payload).to.include({ azp: 'spa-id', azpacr: '0', name: 'Alice Smith', preferred_username: 'alice.smith@contoso.example', scp: 'access_as_user', ver: '2.0' });
    expect(payload).to.not.have.any.keys(...V1_ONLY, 'idtyp');
  });

  it('issueUserToken: an unregistered API, or a client API left at the default, gets v1: sts issuer, aud as given, appid, upn, unique_name', async () => {
    for (const aud of ['api://unregistered', 'api://v1-bff']) {
      const { payload } = await jwtVerify(await idp.issueUserToken({ name: 'Bob', aud, azp: 'spa-id' }), keys, { issuer: idp.issuer(undefined, 1), audience: aud });
      expect(payload).to.include({ appid: 'spa-id', appidacr: '0', upn: 'bob@contoso.example', unique_name: 'bob@contoso.example', ver: '1.0' });
      expect(payload).to.not.have.any.keys(...V2_ONLY);
    }
  });

  it('OBO: the delegated token takes the version of the downstream API; v1 and v2 user tokens are both accepted', async () => {
    const v2User = await idp.issueUserToken({ oid: 'alice', name: 'Alice' });
    const toV1 = await obo(v2User, 'api://orders/Orders.Read');
    const { payload: v1 } = await jwtVerify(String(toV1.json()['access_token']), keys, { issuer: idp.issuer(undefined, 1), audience: 'api://orders' });
    expect(v1).to.include({ oid: 'alice', name: 'Alice', scp: 'Orders.Read', appid: DEFAULT_CLIENT_ID, appidacr: '1', upn: 'alice@contoso.example', ver: '1.0' });
    expect(v1).to.not.have.any.keys(...V2_ONLY);
    const toV2 = await obo(v2User, 'api://billing/Billing.Read');
    const { payload: v2 } = await jwtVerify(String(toV2.json()['access_token']), keys, { issuer: idp.issuer(), audience: V2_API.appId });
    expect(v2).to.include({ oid: 'alice', scp: 'Billing.Read', azp: DEFAULT_CLIENT_ID, azpacr: '1', preferred_username: 'alice@contoso.example', ver: '2.0' });
    expect(v2).to.not.have.any.keys(...V1_ONLY);
    // A v1 user token (sts.windows.net issuer, App ID URI audience) for a v1 BFF is taken too, as Entra takes it.
    const v1User = await idp.issueUserToken({ oid: 'carol', name: 'Carol', aud: 'api://v1-bff' });
    expect(decodeJwt(v1User)).to.include({ iss: idp.issuer(undefined, 1), aud: 'api://v1-bff' });
    const carol = await request(idp.tokenUrl(), { form: { grant_type: OBO, requested_token_use: 'on_behalf_of', assertion: v1User, scope: 'api://orders/Orders.Read', client_id: 'v1-bff', client_secret: 'v1-secret' } });
    expect(carol.status, carol.text()).to.equal(200);
    expect(decodeJwt(String(carol.json()['access_token']))).to.include({ oid: 'carol', appid: 'v1-bff' });
  });

  it('OBO answers carry id_token (openid), refresh_token (offline_access) and client_info (client_info=1), and only when asked', async () => {
    const user = await idp.issueUserToken({ oid: 'dana-oid', name: 'Dana' });
    const bare = (await obo(user, 'api://orders/Orders.Read')).json();
    expect(bare).to.have.keys('token_type', 'scope', 'expires_in', 'ext_expires_in', 'access_token');
    const full = (await obo(user, 'api://orders/Orders.Read openid profile offline_access', { client_info: '1' })).json();
    expect(full).to.include({ scope: 'api://orders/Orders.Read' });
    expect(full['refresh_token']).to.be.a('string').and.not.match(/^eyJ/);
    const { payload: id } = await jwtVerify(String(full['id_token']), keys, { issuer: idp.issuer(), audience: DEFAULT_CLIENT_ID });
    expect(id).to.include({ tid: DEFAULT_TENANT_ID, oid: 'dana-oid', name: 'Dana', preferred_username: 'dana@contoso.example', ver: '2.0' });
    expect(JSON.parse(Buffer.from(String(full['client_info']), 'base64url').toString('utf8'))).to.deep.equal({ uid: 'dana-oid', utid: DEFAULT_TENANT_ID });
  });

  it('OBO: two resources get AADSTS28000; an unregistered one AADSTS500011', async () => {
    const user = await idp.issueUserToken();
    const two = await obo(user, 'api://orders/Orders.Read api://billing/Billing.Read');
    expect(two.status).to.equal(400);
    expect(two.json()).to.include({ error: 'invalid_scope' });
    expect(two.json()['error_codes']).to.deep.equal([28000]);
    expect((await obo(user, 'api://nowhere/x')).json()['error_codes']).to.deep.equal([500011]);
  });

  it('OBO: a user token for another app is refused, whatever its version', async () => {
    const payloads: JWTPayload[] = [];
    for (const aud of ['api://v1-bff', 'v1-bff', 'api://someone-else']) {
      const token = await idp.issueUserToken({ aud });
      payloads.push(decodeJwt(token));
      const res = await obo(token, 'api://orders/Orders.Read');
      expect(res.status, aud).to.equal(400);
      expect(res.json()['error_codes']).to.deep.equal([50013]);
    }
    expect(payloads.map((p) => p['ver'])).to.deep.equal(['1.0', '1.0', '1.0']);
  });
});
