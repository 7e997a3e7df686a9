// aadUserToken through real Express, real http-proxy-middleware and a real backend, against a
// scripted IdP with rotating refresh tokens and reuse detection.
import { expect } from 'chai';
import type { IncomingMessage } from 'node:http';
import { aadUserToken } from '../../lib/adapters/user-token.js';
import type { AadUserTokenOptions } from '../../lib/options/user-token-types.js';
import { startGateway, type Gateway } from '../helpers/gateway.js';
import { startRefreshIdp, type RefreshIdp } from '../helpers/refresh-idp.js';
import { startBackend, type Backend } from '../helpers/servers.js';
import { testSessions, type TestSessions } from '../helpers/session-store.js';

const CSRF = { 'x-csrf': '1' };

describe('aadUserToken: a cookie BFF forwarding the session user\'s tokens', function () {
  this.timeout(20_000);
  let idp: RefreshIdp;
  let backend: Backend;
  const gateways: Gateway[] = [];

  before(async () => {
    backend = await startBackend();
  });
  beforeEach(async () => {
    idp = await startRefreshIdp();
    backend.received.length = 0;
  });
  afterEach(async () => {
    await Promise.all(gateways.splice(0).map((g) => g.close()));
    await idp.close();
  });
  after(async () => {
    await backend.close();
  });

  const start = async (sessions: TestSessions, extra: Partial<AadUserTokenOptions> = {}): Promise<Gateway> => {
    const gateway = await startGateway([{ path: '/api', auth: aadUserToken(idp.userTokenOptions(sessions, extra)), target: backend.url }]);
    gateways.push(gateway);
    return gateway;
  };
  const call = async (gateway: Gateway, sid: string, headers: Record<string, string> = CSRF, method = 'GET') => {
    const response = await fetch(`${gateway.url}/api/thing`, { method, headers: { 'x-session': sid, ...headers } });
    const text = await response.text();
    return { status: response.status, body: text, headers: response.headers };
  };
  const forwarded = () => backend.received.map((r) => r.headers.authorization);

  it('200 concurrent requests of one session with an expired access token: 1 refresh, 200 forwarded with the new token, set once', async () => {
    const sessions = testSessions();
    const signedIn = idp.signIn('alice');
    sessions.store.set('s1', { ...signedIn, expiresAt: Date.now() - 1000 });
    // What had reached the backend when the session was written: nothing may use the new token before `set`.
    const set = sessions.set.bind(sessions);
    let forwardedBeforeSet = -1;
    sessions.set = (req, tokens) => {
      forwardedBeforeSet = backend.received.length;
      return set(req, tokens);
    };
    idp.set({ latencyMs: 50 });
    const gateway = await start(sessions);
    const results = await Promise.all(Array.from({ length: 200 }, () => call(gateway, 's1')));
    expect(forwardedBeforeSet).to.equal(0);
    expect(results.map((r) => r.status).filter((s) => s !== 200)).to.deep.equal([]);
    expect(idp.calls).to.have.length(1);
    const fresh = idp.issued[0]!.token;
    expect(forwarded()).to.have.length(200);
    expect(new Set(forwarded())).to.deep.equal(new Set([`Bearer ${fresh}`]));
    expect(sessions.calls.set).to.equal(1);
    const stored = sessions.store.get('s1')!;
    expect(stored.refreshToken).to.not.equal(signedIn.refreshToken);
    expect(stored.accessToken).to.equal(fresh);
    expect(stored.expiresAt).to.be.greaterThan(Date.now() + 3000_000);
    // The next request uses the session's new own token: no token request.
    expect((await call(gateway, 's1')).status).to.equal(200);
    expect(idp.calls).to.have.length(1);
    expect(idp.revokedFamilies).to.equal(0);
  });

  it('forwards the session\'s own access token while it has more than 30 s left, with no token request', async () => {
    const sessions = testSessions({ async: true });
    const signedIn = idp.signIn('alice');
    sessions.store.set('s1', signedIn);
    const gateway = await start(sessions);
    expect((await call(gateway, 's1')).status).to.equal(200);
    expect(forwarded()).to.deep.equal([`Bearer ${signedIn.accessToken}`]);
    expect(idp.calls).to.have.length(0);
    // Within 30 s of expiresAt it is refreshed first.
    sessions.store.set('s1', { ...signedIn, expiresAt: Date.now() + 29_000 });
    expect((await call(gateway, 's1')).status).to.equal(200);
    expect(idp.calls).to.have.length(1);
    expect(forwarded()[1]).to.equal(`Bearer ${idp.issued[0]!.token}`);
  });

  it('with a scope of its own: sends it exactly as given, keeps the session\'s own access token, stores the rotated refresh token', async () => {
    const sessions = testSessions();
    const signedIn = idp.signIn('alice');
    sessions.store.set('s1', signedIn);
    const scope = 'api://orders/Orders.Read offline_access';
    const gateway = await start(sessions, { scope });
    const results = await Promise.all(Array.from({ length: 20 }, () => call(gateway, 's1')));
    expect(results.map((r) => r.status)).to.deep.equal(Array(20).fill(200));
    expect(idp.calls.map((c) => c.scope)).to.deep.equal([scope]);
    expect(new Set(forwarded())).to.deep.equal(new Set([`Bearer ${idp.issued[0]!.token}`]));
    expect(sessions.calls.set).to.equal(1);
    const stored = sessions.store.get('s1')!;
    expect(stored.accessToken).to.equal(signedIn.accessToken);
    expect(stored.refreshToken).to.not.equal(signedIn.refreshToken);
    // Cached per (family, scope): the next request, now carrying the rotated refresh token, needs no redemption.
    expect((await call(gateway, 's1')).status).to.equal(200);
    expect(idp.calls).to.have.length(1);
  });

  it('two refresh tokens that end alike are two families: each session redeems its own and gets its own token', async () => {
    // The middleware finds a refresh token by its last characters; the whole token must still decide.
    const tail = 'T'.repeat(200);
    const sessions = testSessions();
    sessions.store.set('alice', idp.signIn('alice', undefined, `alice-${tail}`));
    sessions.store.set('bob', idp.signIn('bob', undefined, `bob-${tail}`));
    const gateway = await start(sessions, { scope: 'api://orders/Orders.Read' });
    expect((await call(gateway, 'alice')).status).to.equal(200);
    expect((await call(gateway, 'bob')).status).to.equal(200);
    expect(idp.calls.map((c) => c.refreshToken)).to.deep.equal([`alice-${tail}`, `bob-${tail}`]);
    expect(forwarded()).to.deep.equal([`Bearer ${idp.issued[0]!.token}`, `Bearer ${idp.issued[1]!.token}`]);
  });

  it('without a scope, the grant is sent without one', async () => {
    const sessions = testSessions();
    sessions.store.set('s1', { refreshToken: idp.signIn('alice').refreshToken });
    const gateway = await start(sessions);
    expect((await call(gateway, 's1')).status).to.equal(200);
    expect(idp.calls.map((c) => c.scope)).to.deep.equal([undefined]);
  });

  it('a stale session copy takes the rotated tokens from the hand-off, writes them with set, and never redeems the old refresh token again', async () => {
    const sessions = testSessions();
    const signedIn = idp.signIn('alice');
    const stale = { ...signedIn, expiresAt: Date.now() - 1000 };
    sessions.store.set('s1', stale);
    sessions.store.set('copy', stale);
    const gateway = await start(sessions);
    expect((await call(gateway, 's1')).status).to.equal(200);
    expect(idp.calls).to.have.length(1);
    const response = await call(gateway, 'copy');
    expect(response.status).to.equal(200);
    expect(idp.calls).to.have.length(1);
    expect(forwarded()[1]).to.equal(`Bearer ${idp.issued[0]!.token}`);
    expect(sessions.store.get('copy')!.refreshToken).to.equal(sessions.store.get('s1')!.refreshToken);
    expect(sessions.calls.set).to.equal(2);
    expect(idp.revokedFamilies).to.equal(0);
  });

  it('two aadUserToken middlewares of the process share one redemption per refresh token', async () => {
    const sessions = testSessions();
    sessions.store.set('s1', { ...idp.signIn('alice'), expiresAt: Date.now() - 1000 });
    idp.set({ latencyMs: 100 });
    const a = await start(sessions, { scope: 'api://a/A.Read' });
    const b = await start(sessions, { scope: 'api://b/B.Read' });
    const results = await Promise.all([...Array.from({ length: 10 }, () => call(a, 's1')), ...Array.from({ length: 10 }, () => call(b, 's1'))]);
    expect(results.map((r) => r.status)).to.deep.equal(Array(20).fill(200));
    // One redemption per refresh token: the second scope redeems the rotated one.
    expect(idp.calls).to.have.length(2);
    expect(new Set(idp.calls.map((c) => c.refreshToken)).size).to.equal(2);
    expect(idp.revokedFamilies).to.equal(0);
  });

  it('past its refresh point, the first request refreshes inline; the session\'s other requests are served the current token meanwhile', async () => {
    // A 2 s token: refreshed after 1 s (half its life), not used after 1.8 s (its last 10 %).
    idp.set({ accessTtlSeconds: 2, latencyMs: 100 });
    const sessions = testSessions();
    sessions.store.set('s1', idp.signIn('alice'));
    const gateway = await start(sessions, { scope: 'api://orders/Orders.Read' });
    expect((await call(gateway, 's1')).status).to.equal(200);
    const first = idp.issued[0]!.token;
    expect((await call(gateway, 's1')).status).to.equal(200);
    expect(idp.calls).to.have.length(1);
    await new Promise((resolve) => setTimeout(resolve, 1200));
    const refreshing = call(gateway, 's1');
    await new Promise((resolve) => setTimeout(resolve, 20));
    const meanwhile = await Promise.all(Array.from({ length: 4 }, () => call(gateway, 's1')));
    expect(meanwhile.map((r) => r.status)).to.deep.equal([200, 200, 200, 200]);
    expect((await refreshing).status).to.equal(200);
    expect(idp.calls).to.have.length(2);
    const second = idp.issued[1]!.token;
    expect(forwarded().slice(2)).to.deep.equal([...Array(4).fill(`Bearer ${first}`), `Bearer ${second}`]);
  });

  // A warm session skips the ledger's lookups until the ledger notes its refresh token: these two
  // prove that a note made by another middleware of the process reaches the warm entry.
  it('a rotation by another middleware of the process reaches this one\'s warm session: its stale copy takes the newest tokens', async () => {
    const sessions = testSessions();
    const signedIn = idp.signIn('alice');
    sessions.store.set('s1', signedIn);
    sessions.store.set('copy', signedIn);
    const own = await start(sessions);
    const scoped = await start(sessions, { scope: 'api://orders/Orders.Read' });
    // Warm in `own`: the session's own access token, no redemption.
    expect((await call(own, 'copy')).status).to.equal(200);
    expect(idp.calls).to.have.length(0);
    expect((await call(scoped, 's1')).status).to.equal(200);
    expect(idp.calls.map((c) => c.refreshToken)).to.deep.equal([signedIn.refreshToken]);
    const rotated = sessions.store.get('s1')!.refreshToken;
    expect(rotated).to.not.equal(signedIn.refreshToken);
    // The copy still carries the redeemed refresh token (and a valid access token): it moves on to the rotated one.
    expect((await call(own, 'copy')).status).to.equal(200);
    expect(sessions.store.get('copy')!.refreshToken).to.not.equal(signedIn.refreshToken);
    expect(idp.calls.filter((c) => c.refreshToken === signedIn.refreshToken)).to.have.length(1);
    expect(idp.revokedFamilies).to.equal(0);
  });

  it('a refusal seen by another middleware of the process reaches this one\'s warm session: ERR_USER_SESSION_EXPIRED, no token request', async () => {
    const sessions = testSessions();
    const signedIn = idp.signIn('alice');
    sessions.store.set('s1', signedIn);
    const own = await start(sessions);
    const scoped = await start(sessions, { scope: 'api://orders/Orders.Read' });
    expect((await call(own, 's1')).status).to.equal(200);
    idp.rejectNext({ error: 'invalid_grant', error_description: 'AADSTS70008: The refresh token has expired.' });
    expect(JSON.parse((await call(scoped, 's1')).body)).to.include({ code: 'ERR_USER_SESSION_EXPIRED' });
    // The session was cleared; a copy still carrying that refresh token, with a valid access token, is refused too.
    sessions.store.set('s1', signedIn);
    const again = await call(own, 's1');
    expect(again.status).to.equal(401);
    expect(JSON.parse(again.body)).to.include({ code: 'ERR_USER_SESSION_EXPIRED' });
    // And by a middleware that sees that refresh token for the first time.
    sessions.store.set('s1', signedIn);
    const late = await start(sessions);
    expect(JSON.parse((await call(late, 's1')).body)).to.include({ code: 'ERR_USER_SESSION_EXPIRED' });
    expect(idp.calls).to.have.length(1);
    expect(backend.received).to.have.length(1);
  });

  it('invalid_grant: 401 ERR_USER_SESSION_EXPIRED, clear called, and the refresh token is never tried again', async () => {
    const sessions = testSessions();
    const tokens = { refreshToken: idp.signIn('alice').refreshToken };
    sessions.store.set('s1', tokens);
    idp.rejectNext({ error: 'invalid_grant', error_description: 'AADSTS700082: The refresh token has expired due to inactivity.' });
    const gateway = await start(sessions);
    const first = await call(gateway, 's1');
    expect(first.status).to.equal(401);
    expect(first.headers.get('content-type')).to.equal('application/problem+json');
    expect(JSON.parse(first.body)).to.include({ code: 'ERR_USER_SESSION_EXPIRED', status: 401 });
    expect(first.headers.get('www-authenticate')).to.equal(null);
    expect(sessions.calls.clear).to.equal(1);
    expect(sessions.store.has('s1')).to.equal(false);
    expect(backend.received).to.have.length(0);
    // A copy still carrying it (another tab's cookie, a replica's stale copy): refused with no token request.
    sessions.store.set('s1', tokens);
    const again = await call(gateway, 's1');
    expect(JSON.parse(again.body)).to.include({ code: 'ERR_USER_SESSION_EXPIRED' });
    expect(idp.calls).to.have.length(1);
    expect(sessions.calls.clear).to.equal(2);
  });

  it('Conditional Access: 401 ERR_USER_INTERACTION_REQUIRED with the claims; consent: 403; the session is kept', async () => {
    const sessions = testSessions();
    sessions.store.set('s1', { ...idp.signIn('alice'), expiresAt: Date.now() - 1 });
    const claims = { access_token: { acrs: { essential: true, value: 'c1' } } };
    idp.rejectNext({ error: 'interaction_required', error_description: 'AADSTS50076: MFA required', claims: JSON.stringify(claims) });
    const gateway = await start(sessions);
    const stepUp = await call(gateway, 's1');
    expect(stepUp.status).to.equal(401);
    expect(JSON.parse(stepUp.body)).to.include({ code: 'ERR_USER_INTERACTION_REQUIRED' });
    const challenge = stepUp.headers.get('www-authenticate')!;
    expect(challenge).to.match(/^Bearer error="insufficient_claims", claims="/);
    expect(JSON.parse(Buffer.from(/claims="([^"]+)"/.exec(challenge)![1]!, 'base64').toString())).to.deep.equal(claims);
    const consentSessions = testSessions();
    consentSessions.store.set('s2', { ...idp.signIn('bob'), expiresAt: Date.now() - 1 });
    idp.rejectNext({ error: 'invalid_grant', error_description: 'AADSTS65001: The user has not consented', suberror: 'consent_required' });
    const consent = await call(await start(consentSessions), 's2');
    expect(consent.status).to.equal(403);
    expect(JSON.parse(consent.body)).to.include({ code: 'ERR_USER_CONSENT_REQUIRED' });
    expect(sessions.calls.clear + consentSessions.calls.clear).to.equal(0);
    expect(backend.received).to.have.length(0);
  });

  it('a revoked family (an admin revoked the user\'s sessions): 401 ERR_USER_SESSION_EXPIRED and clear', async () => {
    const sessions = testSessions();
    sessions.store.set('s1', { ...idp.signIn('bob'), expiresAt: Date.now() - 1 });
    idp.revoke('bob');
    const gateway = await start(sessions);
    const response = await call(gateway, 's1');
    expect(response.status).to.equal(401);
    expect(JSON.parse(response.body)).to.include({ code: 'ERR_USER_SESSION_EXPIRED' });
    expect(sessions.calls.clear).to.equal(1);
    expect(backend.received).to.have.length(0);
  });

  it('no session, or a session without a refresh token: 401 ERR_USER_TOKEN_MISSING, nothing forwarded', async () => {
    const sessions = testSessions();
    sessions.store.set('no-refresh', { accessToken: 'at.x', expiresAt: Date.now() + 3600_000 } as never);
    const gateway = await start(sessions);
    for (const sid of ['nobody', 'no-refresh']) {
      const response = await call(gateway, sid);
      expect(response.status).to.equal(401);
      expect(JSON.parse(response.body)).to.include({ code: 'ERR_USER_TOKEN_MISSING' });
    }
    expect(backend.received).to.have.length(0);
    expect(idp.calls).to.have.length(0);
  });

  it('an outage: 503 with Retry-After when no token is usable; a still-valid access token keeps being served', async () => {
    const sessions = testSessions();
    sessions.store.set('s1', { ...idp.signIn('alice'), expiresAt: Date.now() - 1 });
    idp.failNext(100, 503);
    const gateway = await start(sessions, { timeoutMs: 300 });
    const down = await call(gateway, 's1');
    expect(down.status).to.equal(503);
    expect(JSON.parse(down.body)).to.include({ code: 'ERR_IDP_UNAVAILABLE' });
    expect(Number(down.headers.get('retry-after'))).to.be.within(1, 300);
    expect(backend.received).to.have.length(0);

    const scoped = testSessions();
    scoped.store.set('s2', idp.signIn('carol'));
    idp.failNext(0);
    const withScope = await start(scoped, { scope: 'api://x/X.Read', timeoutMs: 300 });
    expect((await call(withScope, 's2')).status).to.equal(200);
    const held = idp.issued.at(-1)!.token;
    idp.failNext(100, 503);
    // Evicting is how a backend's 401 would drop it; here the IdP is down but the token is valid: served.
    expect((await call(withScope, 's2')).status).to.equal(200);
    expect(forwarded().at(-1)).to.equal(`Bearer ${held}`);
  });

  it('after tokenProvider.close(): 503 ERR_CLOSED, no token request', async () => {
    const sessions = testSessions();
    sessions.store.set('s1', { ...idp.signIn('alice'), expiresAt: Date.now() - 1 });
    const auth = aadUserToken(idp.userTokenOptions(sessions));
    const gateway = await startGateway([{ path: '/api', auth, target: backend.url }]);
    gateways.push(gateway);
    await auth.tokenProvider.close();
    const response = await call(gateway, 's1');
    expect(response.status).to.equal(503);
    expect(JSON.parse(response.body)).to.include({ code: 'ERR_CLOSED' });
    expect(idp.calls).to.have.length(0);
  });

  it('tokenProvider.getToken(req) and peek(req) answer for that request\'s session, under the same anti-forgery rule', async () => {
    const sessions = testSessions();
    const signedIn = idp.signIn('alice');
    sessions.store.set('s1', signedIn);
    const auth = aadUserToken(idp.userTokenOptions(sessions));
    const req = (headers: Record<string, string>) => ({ headers }) as unknown as IncomingMessage;
    expect((await auth.tokenProvider.getToken(req({ 'x-session': 's1', 'x-csrf': '1' }))).token).to.equal(signedIn.accessToken);
    expect(auth.tokenProvider.peek(req({ 'x-session': 's1' }))?.token).to.equal(signedIn.accessToken);
    const refused = await auth.tokenProvider.getToken(req({ 'x-session': 's1' })).catch((e: unknown) => e);
    expect(refused).to.include({ code: 'ERR_ANTIFORGERY' });
    const missing = await auth.tokenProvider.getToken().catch((e: unknown) => e);
    expect(missing).to.include({ code: 'ERR_USER_TOKEN_MISSING' });
    await auth.tokenProvider.close();
  });

  describe('anti-forgery', () => {
    it('refuses a request without x-csrf: 1 with 403 ERR_ANTIFORGERY before session.get, for every method', async () => {
      const sessions = testSessions();
      sessions.store.set('s1', idp.signIn('alice'));
      const gateway = await start(sessions);
      for (const [headers, method] of [[{}, 'GET'], [{ 'x-csrf': '0' }, 'POST'], [{ 'x-csrf': '1, 1' }, 'DELETE'], [{ 'x-csrf': 'true' }, 'HEAD']] as const) {
        const response = await call(gateway, 's1', headers, method);
        expect(response.status, `${method} ${JSON.stringify(headers)}`).to.equal(403);
        if (method !== 'HEAD') expect(JSON.parse(response.body)).to.include({ code: 'ERR_ANTIFORGERY', status: 403 });
      }
      expect(sessions.calls.get).to.equal(0);
      expect(backend.received).to.have.length(0);
      expect(idp.calls).to.have.length(0);
    });

    it('takes a header and value of your choosing, and can be turned off', async () => {
      const sessions = testSessions();
      sessions.store.set('s1', idp.signIn('alice'));
      const custom = await start(sessions, { antiForgery: { header: 'X-Requested-With', value: 'XMLHttpRequest' } });
      expect((await call(custom, 's1')).status).to.equal(403);
      expect((await call(custom, 's1', { 'x-requested-with': 'XMLHttpRequest' })).status).to.equal(200);
      const off = await start(sessions, { antiForgery: false });
      expect((await call(off, 's1', {})).status).to.equal(200);
    });
  });
});
