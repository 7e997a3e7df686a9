// Issue 21, item 6: the emulator signs test users in without a page (authorization code + PKCE),
// redeems refresh tokens with rotation, optionally detects reuse (revoking the family, as Auth0
// and Okta do), revokes a user's refresh tokens on demand, and counts redemptions.
import { expect } from 'chai';
import { createHash, randomBytes } from 'node:crypto';
import { createLocalJWKSet, decodeJwt, jwtVerify, type JSONWebKeySet } from 'jose';
import * as oidc from 'openid-client';
import { DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_TENANT_ID, startEntraEmulator, type EntraEmulator, type EntraEmulatorOptions } from '../../../lib/testing/index.js';
import { request, type RawResponse } from './client.js';

const REDIRECT = 'http://127.0.0.1:9/callback';
const OTHER_CLIENT = { clientId: 'b2b2b2b2-0000-4000-8000-0000000000b2', clientSecret: 'other-secret' };
const USERS = [
  { username: 'alice@contoso.example', name: 'Alice Smith', oid: 'a11ce000-0000-4000-8000-000000000001' },
  { username: 'bob@contoso.example', name: 'Bob Jones' },
];
const SIGN_IN_SCOPE = 'openid profile offline_access api://orders/Orders.Read';

function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

/** Parameters an RP puts in the authorization URL. */
function authorizeParams(challenge: string, extra: Record<string, string | undefined> = {}): Record<string, string> {
  const params: Record<string, string | undefined> = {
    client_id: DEFAULT_CLIENT_ID,
    response_type: 'code',
    redirect_uri: REDIRECT,
    scope: SIGN_IN_SCOPE,
    state: 'st-1',
    nonce: 'n-1',
    code_challenge: challenge,
    code_challenge_method: 'S256',
    ...extra,
  };
  return Object.fromEntries(Object.entries(params).filter((entry): entry is [string, string] => entry[1] !== undefined));
}

async function startWith(options: EntraEmulatorOptions = {}): Promise<EntraEmulator> {
  return startEntraEmulator({
    clients: [{ clientId: DEFAULT_CLIENT_ID, clientSecret: DEFAULT_CLIENT_SECRET, accessTokenVersion: 2 }, OTHER_CLIENT],
    resources: [{ audience: 'api://orders' }, { audience: 'api://billing', accessTokenVersion: 2 }],
    users: USERS,
    ...options,
  });
}

describe('emulator: signing test users in (authorization code with PKCE) and refresh tokens', () => {
  let idp: EntraEmulator;
  before(async () => {
    idp = await startWith();
  });
  afterEach(() => idp.reset());
  after(() => idp.close());

  const authorizeUrl = (params: Record<string, string>, emulator = idp): string => `${emulator.url}/${DEFAULT_TENANT_ID}/oauth2/v2.0/authorize?${new URLSearchParams(params)}`;

  /** Follows the sign-in to its redirect; returns the redirect's query. */
  async function signIn(params: Record<string, string>, emulator = idp): Promise<URLSearchParams> {
    const res = await request(authorizeUrl(params, emulator));
    expect(res.status, res.text()).to.equal(302);
    const location = new URL(String(res.headers.location));
    expect(`${location.origin}${location.pathname}`).to.equal(params['redirect_uri']);
    return location.searchParams;
  }

  const token = (form: Record<string, string>, emulator = idp): Promise<RawResponse> =>
    request(emulator.tokenUrl(), { form: { client_id: DEFAULT_CLIENT_ID, client_secret: DEFAULT_CLIENT_SECRET, ...form } });

  /** A full sign-in: the code, redeemed. Returns the token answer. */
  async function tokensFor(loginHint: string | undefined, emulator = idp): Promise<Record<string, unknown>> {
    const { verifier, challenge } = pkce();
    const back = await signIn(authorizeParams(challenge, { login_hint: loginHint }), emulator);
    const res = await token({ grant_type: 'authorization_code', code: back.get('code')!, redirect_uri: REDIRECT, code_verifier: verifier, scope: SIGN_IN_SCOPE }, emulator);
    expect(res.status, res.text()).to.equal(200);
    return res.json();
  }

  function expectGrantError(res: RawResponse, status: number, error: string, code: number): void {
    expect(res.status, res.text()).to.equal(status);
    expect(res.json()).to.include({ error });
    expect(res.json()['error_codes']).to.deep.equal([code]);
  }

  it('discovery names the authorization endpoint; login_hint picks the user; the code comes back with the state', async () => {
    const config = (await request(`${idp.url}/${DEFAULT_TENANT_ID}/v2.0/.well-known/openid-configuration`)).json();
    expect(config['authorization_endpoint']).to.equal(`${idp.url}/${DEFAULT_TENANT_ID}/oauth2/v2.0/authorize`);
    expect(config['code_challenge_methods_supported']).to.include('S256');
    const { challenge } = pkce();
    const back = await signIn(authorizeParams(challenge, { login_hint: 'bob@contoso.example' }));
    expect(back.get('state')).to.equal('st-1');
    expect(back.get('code')).to.be.a('string').and.not.match(/^eyJ/);
  });

  it('the authorization_code grant returns access, ID and refresh tokens for the signed-in user', async () => {
    const answer = await tokensFor('alice@contoso.example');
    expect(answer).to.include({ token_type: 'Bearer', scope: 'api://orders/Orders.Read' });
    const keys = createLocalJWKSet((await request(idp.jwksUri)).json() as unknown as JSONWebKeySet);
    const { payload: access } = await jwtVerify(String(answer['access_token']), keys, { issuer: idp.issuer(undefined, 1), audience: 'api://orders' });
    expect(access).to.include({ oid: USERS[0]!.oid, name: 'Alice Smith', upn: 'alice@contoso.example', scp: 'Orders.Read', appid: DEFAULT_CLIENT_ID, appidacr: '1' });
    const { payload: id } = await jwtVerify(String(answer['id_token']), keys, { issuer: idp.issuer(), audience: DEFAULT_CLIENT_ID });
    expect(id).to.include({ nonce: 'n-1', oid: USERS[0]!.oid, preferred_username: 'alice@contoso.example', tid: DEFAULT_TENANT_ID });
    expect(answer['refresh_token']).to.be.a('string').and.not.match(/^eyJ/);
    expect(idp.isIssued(String(answer['access_token']))).to.include({ grant: 'authorization-code', oid: USERS[0]!.oid });
  });

  it('without login_hint the first configured user signs in; OIDC scopes only give a Microsoft Graph token, as in Entra', async () => {
    const { verifier, challenge } = pkce();
    const back = await signIn(authorizeParams(challenge, { scope: 'openid profile' }));
    const answer = (await token({ grant_type: 'authorization_code', code: back.get('code')!, redirect_uri: REDIRECT, code_verifier: verifier })).json();
    expect(decodeJwt(String(answer['access_token']))).to.include({ aud: 'https://graph.microsoft.com', name: 'Alice Smith' });
    expect(answer).to.not.have.property('refresh_token');
  });

  it('the authorization endpoint refuses, without redirecting, an unknown client, a redirect URI not registered, and an unknown user', async () => {
    const { challenge } = pkce();
    const cases: [Record<string, string>, number][] = [
      [authorizeParams(challenge, { client_id: 'unknown-client' }), 700016],
      [authorizeParams(challenge, { redirect_uri: 'https://evil.example/callback' }), 50011],
      [authorizeParams(challenge, { login_hint: 'mallory@contoso.example' }), 50034],
    ];
    for (const [params, code] of cases) {
      const res = await request(authorizeUrl(params));
      expect(res.status, String(code)).to.equal(400);
      expect(res.headers).to.not.have.property('location');
      expect(res.json()['error_codes']).to.deep.equal([code]);
    }
    const registered = await startWith({ clients: [{ clientId: DEFAULT_CLIENT_ID, clientSecret: DEFAULT_CLIENT_SECRET, redirectUris: ['https://app.example/cb'] }] });
    try {
      expect((await request(authorizeUrl(authorizeParams(challenge), registered))).json()['error_codes']).to.deep.equal([50011]);
      const back = await signIn(authorizeParams(challenge, { redirect_uri: 'https://app.example/cb' }), registered);
      expect(back.get('code')).to.be.a('string');
    } finally {
      await registered.close();
    }
  });

  it('redirects back with an error and the state: no PKCE, plain PKCE, another response_type, a scope naming two APIs', async () => {
    const { challenge } = pkce();
    const cases: [Record<string, string>, string, number][] = [
      [authorizeParams(challenge, { code_challenge: undefined, code_challenge_method: undefined }), 'invalid_request', 9002325],
      [authorizeParams(challenge, { code_challenge_method: 'plain' }), 'invalid_request', 9002325],
      [authorizeParams(challenge, { response_type: 'token' }), 'unsupported_response_type', 700054],
      [authorizeParams(challenge, { scope: 'openid api://orders/Orders.Read api://billing/Billing.Read' }), 'invalid_scope', 28000],
    ];
    for (const [params, error, code] of cases) {
      const back = await signIn(params);
      expect(back.get('error'), error).to.equal(error);
      expect(back.get('error_description')).to.match(new RegExp(`^AADSTS${code}: `));
      expect(back.get('state')).to.equal('st-1');
      expect(back.has('code')).to.equal(false);
    }
  });

  it('a code is redeemed once, by its client, with its redirect URI and verifier: a wrong verifier burns it', async () => {
    const { verifier, challenge } = pkce();
    const code = async (): Promise<string> => (await signIn(authorizeParams(challenge))).get('code')!;
    const redeem = (form: Record<string, string>) => token({ grant_type: 'authorization_code', redirect_uri: REDIRECT, code_verifier: verifier, ...form });

    const first = await code();
    expectGrantError(await redeem({ code: first, code_verifier: pkce().verifier }), 400, 'invalid_grant', 501481);
    expectGrantError(await redeem({ code: first }), 400, 'invalid_grant', 54005);
    const second = await code();
    expect((await redeem({ code: second })).status).to.equal(200);
    expectGrantError(await redeem({ code: second }), 400, 'invalid_grant', 54005);
    expectGrantError(await redeem({ code: await code(), redirect_uri: 'http://127.0.0.1:9/other' }), 400, 'invalid_grant', 70000);
    const stolen = await request(idp.tokenUrl(), {
      form: { grant_type: 'authorization_code', code: await code(), redirect_uri: REDIRECT, code_verifier: verifier, client_id: OTHER_CLIENT.clientId, client_secret: OTHER_CLIENT.clientSecret },
    });
    expectGrantError(stolen, 400, 'invalid_grant', 70000);
    expectGrantError(await redeem({ code: 'not-a-code' }), 400, 'invalid_grant', 9002313);
    expectGrantError(await redeem({ code: await code(), code_verifier: '' }), 400, 'invalid_request', 900144);
  });

  it('refresh_token: each redemption returns new tokens and a new refresh token, for any consented API; Entra keeps the old one valid', async () => {
    const signedIn = await tokensFor('bob@contoso.example');
    const first = String(signedIn['refresh_token']);
    const refreshed = await token({ grant_type: 'refresh_token', refresh_token: first });
    expect(refreshed.status, refreshed.text()).to.equal(200);
    const answer = refreshed.json();
    expect(answer['refresh_token']).to.be.a('string').and.not.equal(first);
    expect(answer['access_token']).to.not.equal(signedIn['access_token']);
    expect(decodeJwt(String(answer['access_token']))).to.include({ aud: 'api://orders', name: 'Bob Jones', upn: 'bob@contoso.example' });
    expect(decodeJwt(String(answer['id_token']))).to.include({ preferred_username: 'bob@contoso.example' });
    // One refresh token, another API: a v2 token for api://billing.
    const billing = (await token({ grant_type: 'refresh_token', refresh_token: String(answer['refresh_token']), scope: 'api://billing/Billing.Read offline_access' })).json();
    expect(decodeJwt(String(billing['access_token']))).to.include({ ver: '2.0', scp: 'Billing.Read', azp: DEFAULT_CLIENT_ID });
    // Without reuse detection an old refresh token still redeems.
    expect((await token({ grant_type: 'refresh_token', refresh_token: first })).status).to.equal(200);
    expect(idp.refreshTokenStats).to.deep.equal({ issued: 4, redeemed: 3, refused: 0, reuseDetected: 0, familiesRevoked: 0 });
  });

  it('refresh_token refusals: another client’s, an unknown one, and an expired one (AADSTS700082)', async () => {
    const rt = String((await tokensFor(undefined))['refresh_token']);
    const other = await request(idp.tokenUrl(), { form: { grant_type: 'refresh_token', refresh_token: rt, client_id: OTHER_CLIENT.clientId, client_secret: OTHER_CLIENT.clientSecret } });
    expectGrantError(other, 400, 'invalid_grant', 70000);
    expectGrantError(await token({ grant_type: 'refresh_token', refresh_token: `${rt}x` }), 400, 'invalid_grant', 9002313);
    expect(idp.refreshTokenStats).to.include({ redeemed: 0, refused: 2 });
    const shortLived = await startWith({ refreshTokenLifetimeSeconds: 1 });
    try {
      const expiring = String((await tokensFor(undefined, shortLived))['refresh_token']);
      await new Promise((resolve) => setTimeout(resolve, 1100));
      expectGrantError(await token({ grant_type: 'refresh_token', refresh_token: expiring }, shortLived), 400, 'invalid_grant', 700082);
    } finally {
      await shortLived.close();
    }
  });

  it('revokeRefreshTokens(user) revokes every family of the user (AADSTS50173); a refresh token revokes its family only', async () => {
    const alice1 = String((await tokensFor('alice@contoso.example'))['refresh_token']);
    const alice2 = String((await tokensFor('alice@contoso.example'))['refresh_token']);
    const bob = String((await tokensFor('bob@contoso.example'))['refresh_token']);
    expect(idp.revokeRefreshTokens('alice@contoso.example')).to.equal(2);
    for (const rt of [alice1, alice2]) expectGrantError(await token({ grant_type: 'refresh_token', refresh_token: rt }), 400, 'invalid_grant', 50173);
    expect((await token({ grant_type: 'refresh_token', refresh_token: bob })).status).to.equal(200);
    const bobAgain = String((await tokensFor('bob@contoso.example'))['refresh_token']);
    expect(idp.revokeRefreshTokens(bobAgain)).to.equal(1);
    expectGrantError(await token({ grant_type: 'refresh_token', refresh_token: bobAgain }), 400, 'invalid_grant', 50173);
    expect((await token({ grant_type: 'refresh_token', refresh_token: bob })).status).to.equal(200);
    expect(idp.refreshTokenStats).to.include({ familiesRevoked: 3, refused: 3 });
    expect(() => idp.revokeRefreshTokens('')).to.throw(TypeError);
  });

  it('openid-client (discovery, PKCE, state, nonce) signs in and refreshes as it would against Entra', async () => {
    const config = await oidc.discovery(new URL(`${idp.url}/${DEFAULT_TENANT_ID}/v2.0`), DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, undefined, { execute: [oidc.allowInsecureRequests] });
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT,
      scope: SIGN_IN_SCOPE,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
      login_hint: 'bob@contoso.example',
    });
    const callback = new URL(String((await request(url.href)).headers.location));
    const tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce });
    expect(tokens.claims()).to.include({ preferred_username: 'bob@contoso.example', name: 'Bob Jones' });
    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
    expect(refreshed.refresh_token).to.be.a('string').and.not.equal(tokens.refresh_token);
    expect(refreshed.claims()?.sub).to.equal(tokens.claims()?.sub);
    expect(idp.refreshTokenStats).to.include({ issued: 2, redeemed: 1 });
  });

  it('an MFA fault waits for a user grant: a refresh gets it, client credentials do not', async () => {
    const rt = String((await tokensFor(undefined))['refresh_token']);
    idp.fail({ kind: 'interaction-required' });
    expect((await token({ grant_type: 'client_credentials', scope: 'api://orders/.default' })).status).to.equal(200);
    expectGrantError(await token({ grant_type: 'refresh_token', refresh_token: rt }), 400, 'invalid_grant', 50076);
  });
});

describe('emulator: refresh-token reuse detection (refreshTokenReuseDetection: true)', () => {
  let idp: EntraEmulator;
  before(async () => {
    idp = await startWith({ refreshTokenReuseDetection: true });
  });
  after(() => idp.close());

  const refresh = (refreshToken: string): Promise<RawResponse> =>
    request(idp.tokenUrl(), { form: { grant_type: 'refresh_token', refresh_token: refreshToken, client_id: DEFAULT_CLIENT_ID, client_secret: DEFAULT_CLIENT_SECRET } });

  async function signedIn(user: string): Promise<string> {
    const { verifier, challenge } = pkce();
    const res = await request(`${idp.url}/${DEFAULT_TENANT_ID}/oauth2/v2.0/authorize?${new URLSearchParams(authorizeParams(challenge, { login_hint: user }))}`);
    const code = new URL(String(res.headers.location)).searchParams.get('code')!;
    const answer = await request(idp.tokenUrl(), {
      form: { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier, client_id: DEFAULT_CLIENT_ID, client_secret: DEFAULT_CLIENT_SECRET },
    });
    return String(answer.json()['refresh_token']);
  }

  it('redeeming a rotated refresh token again revokes the whole family; other families live on', async () => {
    const rt1 = await signedIn('alice@contoso.example');
    const bob = await signedIn('bob@contoso.example');
    const second = await refresh(rt1);
    expect(second.status).to.equal(200);
    const rt2 = String(second.json()['refresh_token']);
    const rt3 = String((await refresh(rt2)).json()['refresh_token']);
    // rt1 again: a replay (two replicas racing, or a thief). The family goes.
    const replay = await refresh(rt1);
    expect(replay.status).to.equal(400);
    expect(replay.json()).to.include({ error: 'invalid_grant' });
    expect(replay.json()['error_codes']).to.deep.equal([70000]);
    expect(String(replay.json()['error_description'])).to.include('reuse detection');
    for (const rt of [rt2, rt3]) expect((await refresh(rt)).json()['error_codes']).to.deep.equal([70000]);
    expect((await refresh(bob)).status).to.equal(200);
    expect(idp.refreshTokenStats).to.deep.equal({ issued: 5, redeemed: 3, refused: 3, reuseDetected: 1, familiesRevoked: 1 });
  });

  it('a revoked family does not count as reuse; the option is checked at start-up', async () => {
    idp.reset();
    const rt = await signedIn('bob@contoso.example');
    expect(idp.revokeRefreshTokens(rt)).to.equal(1);
    expect((await refresh(rt)).json()['error_codes']).to.deep.equal([50173]);
    expect(idp.refreshTokenStats).to.include({ reuseDetected: 0, familiesRevoked: 1 });
    const refused = await startEntraEmulator({ refreshTokenReuseDetection: 'yes' as unknown as boolean }).catch((error: unknown) => error);
    expect(refused).to.be.instanceOf(TypeError).and.match(/"refreshTokenReuseDetection" option/);
  });
});
