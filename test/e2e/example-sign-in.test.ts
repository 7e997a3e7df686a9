import { expect } from 'chai';
import { startExample, type RunningExample } from '../../example-app/example.js';
import { DEMO_USERS, ME_SCOPE_PERMISSION } from '../../example-app/sign-in.js';
import { signInAs } from '../helpers/example-sign-in.js';

const CSRF = { 'x-csrf': '1' };
const JSON_POST = { 'content-type': 'application/json' };

describe('example app: real sign-in (authorization code + PKCE via openid-client) and /api/me with aadUserToken', () => {
  let example: RunningExample;
  before(async () => {
    example = await startExample({ mode: 'local', port: 0, host: '127.0.0.1' });
  });
  after(() => example.close());
  afterEach(() => example.emulator!.reset());

  const get = (path: string, cookie: string, headers: Record<string, string> = CSRF): Promise<Response> => fetch(`${example.url}${path}`, { headers: { cookie, ...headers } });
  const post = (path: string, cookie: string): Promise<Response> => fetch(`${example.url}${path}`, { method: 'POST', headers: { cookie, ...JSON_POST, ...CSRF }, body: '{}' });
  const session = async (cookie: string): Promise<Record<string, unknown>> => (await get('/_bff/session', cookie)).json() as Promise<Record<string, unknown>>;

  it('signs Alice in through the emulator, keeps her tokens server-side, and calls the backend as her with x-csrf', async () => {
    const alice = await signInAs(example.url, 'alice');
    expect(alice.landing).to.equal('/#obo');
    expect(alice.setCookie).to.include('HttpOnly').and.to.include('SameSite=Strict').and.not.include('eyJ');
    const me = await get('/api/me', alice.cookie);
    expect(me.status).to.equal(200);
    const body = (await me.json()) as { claims: Record<string, unknown>; verification: Record<string, unknown> };
    expect(body.claims).to.include({ name: DEMO_USERS.alice.name, oid: DEMO_USERS.alice.oid, upn: DEMO_USERS.alice.username, scp: ME_SCOPE_PERMISSION, aud: 'api://aad-backend-auth-example' });
    expect(body.claims).to.not.have.property('roles');
    // The sample API takes v1 tokens: the backend checked the v1 issuer.
    expect(body.verification).to.include({ tokenVersion: '1.0' });
    const state = await session(alice.cookie);
    expect(state).to.include({ signedIn: true, name: DEMO_USERS.alice.name, username: DEMO_USERS.alice.username, refreshes: 0, expired: false });
    expect(state['accessTokenExpiresAt']).to.be.a('number');
    expect(JSON.stringify(state)).to.not.match(/eyJ|refresh_?token/i);
    // Bob signs in as himself, in his own session.
    const bob = await signInAs(example.url, 'bob');
    expect(((await (await get('/api/me', bob.cookie)).json()) as { claims: { oid: string } }).claims.oid).to.equal(DEMO_USERS.bob.oid);
    expect(example.emulator!.refreshTokenStats).to.include({ issued: 2, redeemed: 0 });
  });

  it('refuses /api/me without x-csrf (403 ERR_ANTIFORGERY) or without a session (401 ERR_USER_TOKEN_MISSING), forwarding nothing', async () => {
    const alice = await signInAs(example.url, 'alice');
    for (const headers of [{}, { 'x-csrf': '0' }]) {
      const forged = await get('/api/me', alice.cookie, headers);
      expect(forged.status).to.equal(403);
      expect(await forged.json()).to.include({ code: 'ERR_ANTIFORGERY' });
    }
    const anonymous = await fetch(`${example.url}/api/me`, { headers: CSRF });
    expect(anonymous.status).to.equal(401);
    expect(await anonymous.json()).to.include({ code: 'ERR_USER_TOKEN_MISSING' });
  });

  it('"Refresh now": the next calls redeem the refresh token once, write the rotated tokens to the session, and show when', async () => {
    const alice = await signInAs(example.url, 'alice');
    const before = Date.now();
    expect((await post('/_bff/session/expire-access-token', alice.cookie)).status).to.equal(200);
    const calls = await Promise.all(Array.from({ length: 10 }, () => get('/api/me', alice.cookie)));
    expect(calls.map((res) => res.status)).to.deep.equal(Array(10).fill(200));
    // The emulator detects reuse (as Auth0 and Okta do): ten parallel calls, one redemption, no family revoked.
    expect(example.emulator!.refreshTokenStats).to.include({ redeemed: 1, refused: 0, reuseDetected: 0, familiesRevoked: 0 });
    const state = await session(alice.cookie);
    expect(state).to.include({ signedIn: true, refreshes: 1 });
    expect(state['refreshedAt']).to.be.at.least(before);
    expect(state['accessTokenExpiresAt']).to.be.greaterThan(Date.now() + 60_000);
  });

  it('"Revoke session": the access token lives on, the next refresh gets 401 ERR_USER_SESSION_EXPIRED and the session is cleared', async () => {
    const alice = await signInAs(example.url, 'alice');
    const bob = await signInAs(example.url, 'bob');
    const revoke = await post('/_bff/session/revoke', alice.cookie);
    expect(await revoke.json()).to.deep.equal({ revoked: 1 });
    // Like Entra: revocation stops refreshes; the access token works until it expires.
    expect((await get('/api/me', alice.cookie)).status).to.equal(200);
    await post('/_bff/session/expire-access-token', alice.cookie);
    const expired = await get('/api/me', alice.cookie);
    expect(expired.status).to.equal(401);
    expect(await expired.json()).to.include({ code: 'ERR_USER_SESSION_EXPIRED' });
    expect(await session(alice.cookie)).to.include({ signedIn: false, expired: true, name: DEMO_USERS.alice.name });
    expect(await (await get('/api/me', alice.cookie)).json()).to.include({ code: 'ERR_USER_TOKEN_MISSING' });
    // Bob's session is his own.
    await post('/_bff/session/expire-access-token', bob.cookie);
    expect((await get('/api/me', bob.cookie)).status).to.equal(200);
    // Signing in again works.
    const again = await signInAs(example.url, 'alice');
    expect((await get('/api/me', again.cookie)).status).to.equal(200);
  });

  it('refuses a callback without this browser’s transaction, another sign-in’s code, an unknown user, and cross-site forms', async () => {
    const noTransaction = await fetch(`${example.url}/auth/callback?code=x&state=y`, { redirect: 'manual' });
    expect(noTransaction.status).to.equal(303);
    expect(noTransaction.headers.get('location')).to.equal('/?sign_in_error=no_sign_in_in_progress#obo');
    expect(noTransaction.headers.getSetCookie().some((line) => line.startsWith('bff.sid='))).to.equal(false);

    // Login CSRF: the attacker's callback (their code and state) in the victim's browser (the victim's transaction).
    const victim = await fetch(`${example.url}/auth/sign-in?user=alice`, { redirect: 'manual' });
    const victimCookie = victim.headers.getSetCookie()[0]!.split(';')[0]!;
    const attacker = await fetch(`${example.url}/auth/sign-in?user=bob`, { redirect: 'manual' });
    const attackerCallback = (await fetch(attacker.headers.get('location')!, { redirect: 'manual' })).headers.get('location')!;
    const planted = await fetch(attackerCallback, { redirect: 'manual', headers: { cookie: victimCookie } });
    expect(planted.status).to.equal(303);
    expect(planted.headers.get('location')).to.match(/^\/\?sign_in_error=\w+#obo$/);
    expect(planted.headers.getSetCookie().some((line) => line.startsWith('bff.sid='))).to.equal(false);
    // The transaction is used once: the victim's own flow cannot be replayed with it either.
    expect(example.emulator!.refreshTokenStats.issued).to.equal(0);

    expect((await fetch(`${example.url}/auth/sign-in?user=mallory`, { redirect: 'manual' })).status).to.equal(404);
    const form = await fetch(`${example.url}/_bff/session/revoke`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'a=1' });
    expect(form.status).to.equal(415);
    expect((await fetch(`${example.url}/_bff/session/revoke`, { method: 'POST', headers: JSON_POST, body: '{}' })).status).to.equal(401);
  });
});

describe('example app: the user token refreshes by itself when due (short token lifetimes)', () => {
  let example: RunningExample;
  before(async () => {
    // 32 s tokens: aadUserToken stops using the session's own token 30 s before expiry, so after 2 s.
    example = await startExample({ mode: 'local', port: 0, host: '127.0.0.1' }, { tokenLifetimeSeconds: 32 });
  });
  after(() => example.close());

  it('keeps the signed-in user signed in across a refresh of her access token', async () => {
    const alice = await signInAs(example.url, 'alice');
    const call = (): Promise<Response> => fetch(`${example.url}/api/me`, { headers: { cookie: alice.cookie, ...CSRF } });
    const first = (await (await call()).json()) as { claims: { iat: number } };
    await new Promise((resolve) => setTimeout(resolve, 2_200));
    const second = await call();
    expect(second.status).to.equal(200);
    const claims = ((await second.json()) as { claims: { iat: number; name: string } }).claims;
    expect(claims.name).to.equal(DEMO_USERS.alice.name);
    expect(claims.iat).to.be.greaterThan(first.claims.iat);
    expect(example.emulator!.refreshTokenStats).to.include({ redeemed: 1 });
    const state = (await (await fetch(`${example.url}/_bff/session`, { headers: { cookie: alice.cookie } })).json()) as Record<string, unknown>;
    expect(state).to.include({ signedIn: true, refreshes: 1 });
  });
});
