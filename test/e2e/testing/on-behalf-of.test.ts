import { expect } from 'chai';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, startEntraEmulator, type EntraEmulator } from '../../../lib/testing/index.js';
import { createForger } from '../../helpers/on-behalf-of.js';
import { request } from './client.js';

const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

describe('emulator: on-behalf-of and token exchange', () => {
  let idp: EntraEmulator;
  before(async () => {
    idp = await startEntraEmulator({ resources: [{ audience: 'api://orders' }] });
  });
  after(() => idp.close());

  const obo = (assertion: string, extra: Record<string, string> = {}) =>
    request(idp.tokenUrl(), {
      form: { grant_type: JWT_BEARER, requested_token_use: 'on_behalf_of', assertion, scope: 'api://orders/Orders.Read Orders.Write', client_id: DEFAULT_CLIENT_ID, client_secret: DEFAULT_CLIENT_SECRET, ...extra },
    });

  it('mints user tokens for the BFF and exchanges them for delegated tokens with scp, oid, name and upn (v1 API)', async () => {
    const userToken = await idp.issueUserToken({ oid: 'alice-oid', name: 'Alice Smith', scp: 'access_as_user' });
    const keys = createRemoteJWKSet(new URL(idp.jwksUri));
    // The built-in BFF registration's API is v2: aud is its appId (the client id).
    const { payload: user } = await jwtVerify(userToken, keys, { issuer: idp.issuer(), audience: DEFAULT_CLIENT_ID });
    expect(user).to.include({ oid: 'alice-oid', name: 'Alice Smith', scp: 'access_as_user', preferred_username: 'alice.smith@contoso.example' });
    const res = await obo(userToken, { scope: 'api://orders/Orders.Read api://orders/Orders.Write' });
    expect(res.status).to.equal(200);
    const answer = res.json();
    expect(answer).to.include({ token_type: 'Bearer', expires_in: 3599 });
    const { payload } = await jwtVerify(answer['access_token'] as string, keys, { issuer: idp.issuer(undefined, 1), audience: 'api://orders' });
    expect(payload).to.include({ oid: 'alice-oid', name: 'Alice Smith', scp: 'Orders.Read Orders.Write', appid: DEFAULT_CLIENT_ID, appidacr: '1', upn: 'alice.smith@contoso.example', ver: '1.0' });
    expect(payload).to.not.have.any.keys('azp', 'azpacr', 'preferred_username', 'idtyp');
  });

  it('refuses an assertion for another audience, a forged one and an expired one with invalid_grant', async () => {
    const forge = await createForger(idp);
    const outcomes = await Promise.all([
      obo(await idp.issueUserToken({ aud: 'api://someone-else' }), { scope: 'api://orders/Orders.Read' }),
      obo(await forge(), { scope: 'api://orders/Orders.Read' }),
      obo(await idp.issueUserToken({ expiresIn: -600 }), { scope: 'api://orders/Orders.Read' }),
    ]);
    expect(outcomes.map((r) => r.status)).to.deep.equal([400, 400, 400]);
    expect(outcomes.map((r) => r.json()['error'])).to.deep.equal(['invalid_grant', 'invalid_grant', 'invalid_grant']);
    expect(outcomes.map((r) => (r.json()['error_codes'] as number[])[0])).to.deep.equal([50013, 50013, 500133]);
  });

  it('answers RFC 8693 token exchange with issued_token_type', async () => {
    const res = await request(idp.tokenUrl(), {
      form: {
        grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
        subject_token: await idp.issueUserToken(),
        subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
        scope: 'api://orders/Orders.Read',
        client_id: DEFAULT_CLIENT_ID,
        client_secret: DEFAULT_CLIENT_SECRET,
      },
    });
    expect(res.status).to.equal(200);
    expect(res.json()).to.include({ issued_token_type: 'urn:ietf:params:oauth:token-type:access_token', token_type: 'Bearer' });
  });

  it('answers the interaction-required fault with claims and the consent-required fault with AADSTS65001', async () => {
    idp.fail({ kind: 'interaction-required', claims: { access_token: { acrs: { essential: true, value: 'c1' } } } });
    const mfa = (await obo(await idp.issueUserToken())).json();
    expect(mfa).to.include({ error: 'invalid_grant', claims: '{"access_token":{"acrs":{"essential":true,"value":"c1"}}}' });
    expect(mfa['error_codes']).to.deep.equal([50076]);
    idp.fail({ kind: 'consent-required' });
    const consent = (await obo(await idp.issueUserToken())).json();
    expect(consent).to.include({ error: 'invalid_grant', suberror: 'consent_required' });
    expect(consent['error_codes']).to.deep.equal([65001]);
    expect(() => idp.fail({ kind: 'interaction-required', code: 12345 as 50076 })).to.throw(TypeError, /"code"/);
  });
});
