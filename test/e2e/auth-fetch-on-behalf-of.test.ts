import axios from 'axios';
import { expect } from 'chai';
import express4, { type RequestHandler } from 'express';
import express5 from 'express5';
import http, { type IncomingMessage, type Server } from 'node:http';
import { inspect } from 'node:util';
import {
  AadBackendAuthError,
  aadOnBehalfOf,
  createAuthFetch,
  useAadBackendAuth,
  type AadOnBehalfOfMiddleware,
  type AadOnBehalfOfOptions,
  type AuthFetch,
} from '../../lib/index.js';
import { userValidatorOf } from '../helpers/user-validator.js';
import { DEFAULT_CLIENT_SECRET, startEntraEmulator, type EntraEmulator } from '../../lib/testing/index.js';
import { claimsOf, createForger, oboOptions } from '../helpers/on-behalf-of.js';
import { INVALID_TOKEN, claimsChallenge, startScriptedBackend, type ScriptedBackend } from '../helpers/scripted-backend.js';
import { close, listen } from '../helpers/servers.js';

const CAE_CLAIMS = { access_token: { nbf: { essential: true, value: '1700000000' } } };

async function rejection(promise: Promise<unknown>): Promise<AadBackendAuthError> {
  try {
    await promise;
  } catch (error) {
    expect(error).to.be.instanceOf(AadBackendAuthError);
    return error as AadBackendAuthError;
  }
  return expect.fail('expected a rejection');
}

/** What a route handler gets: only the headers matter to the on-behalf-of source. */
function requestWith(headers: IncomingMessage['headers']): IncomingMessage {
  return { headers } as IncomingMessage;
}

const asUser = (userToken: string): IncomingMessage => requestWith({ authorization: `Bearer ${userToken}` });

/** Neither a user token, the secret, nor any issued token appears anywhere a thrown error can be looked at. */
function expectNoLeak(error: unknown, idp: EntraEmulator, userTokens: readonly string[]): void {
  const views = [inspect(error, { depth: 10, showHidden: true }), JSON.stringify(error) ?? '', String((error as Error).stack), String(error)];
  const tokens = [...userTokens, ...idp.issued.map((t) => t.token)];
  const secrets = [DEFAULT_CLIENT_SECRET, ...tokens, ...tokens.map((t) => t.split('.')[2]!).filter((s) => s.length > 0)];
  for (const view of views) for (const secret of secrets) expect(view).not.to.include(secret);
}

/** The oid of the delegated token the backend got, as the emulator issued it (and through which grant). */
function delegatedUsers(idp: EntraEmulator, backend: ScriptedBackend): (string | undefined)[] {
  return backend.received.map((r) => {
    const issued = idp.isIssued(r.token ?? '');
    return issued?.grant === 'on-behalf-of' ? issued.oid : undefined;
  });
}

interface App {
  readonly url: string;
  close(): Promise<void>;
}

/**
 * A real Express app whose route handler aggregates two backend calls made as the signed-in
 * user through `meFetch.for(req)`, and answers errors as a BFF would: status and code, plus
 * the step-up challenge for `ERR_USER_INTERACTION_REQUIRED`.
 */
async function startApp(meFetch: AuthFetch, backendUrl: string, options: { before?: RequestHandler; express?: 4 | 5 } = {}): Promise<App> {
  const app = options.express === 5 ? express5() : express4();
  const handler: RequestHandler = async (req, res) => {
    try {
      const [orders, profile] = await Promise.all([meFetch.for(req)(`${backendUrl}/orders`), meFetch.for(req)(`${backendUrl}/profile`)]);
      await Promise.all([orders.body?.cancel(), profile.body?.cancel()]);
      res.json({ orders: orders.status, profile: profile.status });
    } catch (error) {
      const failure = error as AadBackendAuthError;
      if (failure.code === 'ERR_USER_INTERACTION_REQUIRED' && failure.claims !== undefined) {
        res.set('WWW-Authenticate', `Bearer error="insufficient_claims", claims="${Buffer.from(failure.claims).toString('base64')}"`);
      }
      res.status(failure.status).json({ code: failure.code });
    }
  };
  if (options.before === undefined) app.get('/summary', handler);
  else app.get('/summary', options.before, handler);
  const server: Server = http.createServer(app as unknown as http.RequestListener);
  const url = await listen(server);
  return { url, close: () => close(server) };
}

describe('createAuthFetch(aadOnBehalfOf(...)).for(req): the backend called as the signed-in user', () => {
  let idp: EntraEmulator;
  let backend: ScriptedBackend;
  let obo: AadOnBehalfOfMiddleware;
  let meFetch: AuthFetch;
  const apps: App[] = [];
  const middlewares: AadOnBehalfOfMiddleware[] = [];
  const makeObo = (extra: Partial<AadOnBehalfOfOptions> = {}): AadOnBehalfOfMiddleware => {
    const made = aadOnBehalfOf(oboOptions(idp, extra));
    middlewares.push(made);
    return made;
  };

  beforeEach(async () => {
    idp = await startEntraEmulator({ latencyMs: 20 });
    backend = await startScriptedBackend();
    obo = makeObo();
    meFetch = createAuthFetch(obo);
  });
  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
    for (const made of middlewares.splice(0)) await made.tokenProvider.close();
    await backend.close();
    await idp.close();
  });

  it('two users in a route handler: each backend call carries its own user\'s delegated token, one exchange per user', async () => {
    const app = await startApp(meFetch, backend.url);
    apps.push(app);
    const alice = await idp.issueUserToken({ oid: 'alice-oid', name: 'Alice' });
    const bob = await idp.issueUserToken({ oid: 'bob-oid', name: 'Bob' });
    const validator = userValidatorOf(obo);
    let verificationsWhenCold = 0;
    for (const [round, [user, token]] of ([['alice-oid', alice], ['bob-oid', bob], ['alice-oid', alice], ['bob-oid', bob]] as const).entries()) {
      if (round === 2) verificationsWhenCold = validator.verifications;
      const before = backend.received.length;
      const res = await fetch(`${app.url}/summary`, { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).to.equal(200);
      expect(await res.json()).to.deep.equal({ orders: 200, profile: 200 });
      expect(delegatedUsers(idp, backend).slice(before)).to.deep.equal([user, user]);
    }
    expect(backend.received).to.have.length(8);
    // The user's own token never reaches the backend.
    for (const seen of backend.received) expect(JSON.stringify(seen.headers)).not.to.include(alice).and.not.to.include(bob);
    expect(idp.tokenRequests.map((r) => r.form.assertion)).to.have.members([alice, bob]);
    expect(idp.tokenRequests).to.have.length(2);
    expect(meFetch.tokenProvider).to.equal(obo.tokenProvider);
    expect(obo.tokenProvider.stats()).to.include({ tokenRequests: 2, keys: 2 });
    // A warm user costs no RS256 verification: the second round of calls verified nothing.
    expect(verificationsWhenCold).to.be.greaterThan(0);
    expect(validator.verifications).to.equal(verificationsWhenCold);
  });

  it('concurrent calls for one user make exactly one exchange, and another user gets their own', async () => {
    const alice = await idp.issueUserToken({ oid: 'alice-oid' });
    const bob = await idp.issueUserToken({ oid: 'bob-oid' });
    const calls = [
      ...Array.from({ length: 25 }, (_, i) => meFetch.for(asUser(alice))(`${backend.url}/a/${i}`)),
      ...Array.from({ length: 25 }, (_, i) => meFetch.for(asUser(bob))(`${backend.url}/b/${i}`)),
    ];
    const answers = await Promise.all(calls);
    expect(answers.map((r) => r.status)).to.deep.equal(Array(50).fill(200));
    expect(idp.tokenRequests).to.have.length(2);
    for (const seen of backend.received) {
      expect(idp.isIssued(seen.token ?? '')?.oid).to.equal(seen.url.startsWith('/a/') ? 'alice-oid' : 'bob-oid');
    }
  });

  it('a backend that refuses a user\'s delegated token once: concurrent calls cause one new exchange, and each is retried once', async () => {
    const alice = await idp.issueUserToken({ oid: 'alice-oid' });
    const bob = await idp.issueUserToken({ oid: 'bob-oid' });
    // Warm both users, then the backend refuses Alice's cached token once.
    await (await meFetch.for(asUser(alice))(`${backend.url}/warm`)).body?.cancel();
    await (await meFetch.for(asUser(bob))(`${backend.url}/warm`)).body?.cancel();
    const refused = backend.received[0]!.token;
    backend.received.length = 0;
    backend.script((r) => (r.token === refused ? INVALID_TOKEN : undefined));
    const answers = await Promise.all([
      ...Array.from({ length: 20 }, (_, i) => meFetch.for(asUser(alice))(`${backend.url}/a/${i}`)),
      meFetch.for(asUser(bob))(`${backend.url}/b/0`),
    ]);
    expect(answers.map((r) => r.status)).to.deep.equal(Array(21).fill(200));
    // One new exchange, for Alice's token only.
    expect(idp.tokenRequests).to.have.length(3);
    expect(idp.tokenRequests[2]!.form.assertion).to.equal(alice);
    const perPath = new Map<string, number>();
    for (const r of backend.received) perPath.set(r.url, (perPath.get(r.url) ?? 0) + 1);
    expect([...perPath.entries()].filter(([path]) => path.startsWith('/a/')).every(([, n]) => n === 2)).to.equal(true);
    expect(perPath.get('/b/0')).to.equal(1);
    const retried = backend.received.filter((r) => r.url.startsWith('/a/') && r.token !== refused);
    expect(retried).to.have.length(20);
    expect(new Set(retried.map((r) => idp.isIssued(r.token ?? '')?.oid))).to.deep.equal(new Set(['alice-oid']));
    expect(obo.tokenProvider.stats()).to.include({ evictions: 1 });
  });

  it('a second 401 is returned as is; within the cooldown the next 401 costs no exchange', async () => {
    backend.script(() => INVALID_TOKEN);
    const alice = await idp.issueUserToken({ oid: 'alice-oid' });
    const first = await meFetch.for(asUser(alice))(`${backend.url}/always`);
    expect(first.status).to.equal(401);
    expect(first.headers.get('www-authenticate')).to.include('invalid_token');
    expect(backend.received).to.have.length(2);
    expect(idp.tokenRequests).to.have.length(2);
    expect((await meFetch.for(asUser(alice))(`${backend.url}/again`)).status).to.equal(401);
    expect(backend.received).to.have.length(3);
    expect(idp.tokenRequests).to.have.length(2);
  });

  it('a claims challenge to a delegated token: ERR_USER_INTERACTION_REQUIRED with the claims, not sent again, the token evicted', async () => {
    const alice = await idp.issueUserToken({ oid: 'alice-oid' });
    backend.script((_r, i) => (i === 0 ? claimsChallenge(CAE_CLAIMS) : undefined));
    const error = await rejection(meFetch.for(asUser(alice))(`${backend.url}/cae`));
    expect(error).to.include({ code: 'ERR_USER_INTERACTION_REQUIRED', status: 401 });
    expect(JSON.parse(error.claims!)).to.deep.equal(CAE_CLAIMS);
    expect(backend.received).to.have.length(1);
    expect(idp.tokenRequests).to.have.length(1);
    expectNoLeak(error, idp, [alice]);
    // The refused token is gone: the next call exchanges again (without claims: only the user can meet them).
    expect((await meFetch.for(asUser(alice))(`${backend.url}/after`)).status).to.equal(200);
    expect(idp.tokenRequests).to.have.length(2);
    expect(idp.tokenRequests[1]!.form.claims).to.equal(undefined);
    expect(backend.received[1]!.token).not.to.equal(backend.received[0]!.token);
  });

  it('a claims challenge through the route handler: 401 with the step-up challenge for the SPA; also with retryOnUnauthorized: false', async () => {
    const noRetry = createAuthFetch(obo, { retryOnUnauthorized: false });
    const alice = await idp.issueUserToken({ oid: 'alice-oid' });
    backend.script(() => claimsChallenge(CAE_CLAIMS));
    for (const client of [meFetch, noRetry]) {
      const app = await startApp(client, backend.url);
      apps.push(app);
      const res = await fetch(`${app.url}/summary`, { headers: { authorization: `Bearer ${alice}` } });
      expect(res.status).to.equal(401);
      expect(await res.json()).to.deep.equal({ code: 'ERR_USER_INTERACTION_REQUIRED' });
      const challenge = res.headers.get('www-authenticate') ?? '';
      expect(challenge).to.match(/^Bearer error="insufficient_claims", claims="[A-Za-z0-9+/=]+"$/);
      const encoded = /claims="([^"]+)"/.exec(challenge)![1]!;
      expect(JSON.parse(Buffer.from(encoded, 'base64').toString('utf8'))).to.deep.equal(CAE_CLAIMS);
    }
    // Two calls per route, none sent again.
    expect(backend.received).to.have.length(4);
  });

  it('Conditional Access at the exchange: the same ERR_USER_INTERACTION_REQUIRED, and nothing reaches the backend', async () => {
    const claims = { access_token: { capolids: { essential: true, values: ['c1'] } } };
    idp.fail({ kind: 'interaction-required', claims });
    const alice = await idp.issueUserToken({ oid: 'alice-oid' });
    const error = await rejection(meFetch.for(asUser(alice))(`${backend.url}/mfa`));
    expect(error).to.include({ code: 'ERR_USER_INTERACTION_REQUIRED' });
    expect(JSON.parse(error.claims!)).to.deep.equal(claims);
    expect(backend.received).to.have.length(0);
    expectNoLeak(error, idp, [alice]);
  });

  it('no user token: ERR_USER_TOKEN_MISSING, nothing sent, no token request', async () => {
    const error = await rejection(meFetch.for(requestWith({}))(`${backend.url}/nobody`));
    expect(error).to.include({ code: 'ERR_USER_TOKEN_MISSING', status: 401 });
    const basic = await rejection(meFetch.for(requestWith({ authorization: 'Basic dXNlcjpwdw==' }))(`${backend.url}/basic`));
    expect(basic).to.include({ code: 'ERR_USER_TOKEN_MISSING' });
    const app = await startApp(meFetch, backend.url);
    apps.push(app);
    const res = await fetch(`${app.url}/summary`);
    expect(res.status).to.equal(401);
    expect(await res.json()).to.deep.equal({ code: 'ERR_USER_TOKEN_MISSING' });
    expect(backend.received).to.have.length(0);
    expect(idp.tokenRequests).to.have.length(0);
  });

  it('an invalid user token (forged, expired, wrong audience, garbage): ERR_USER_TOKEN_INVALID, nothing sent, no token request, no token in the error', async () => {
    const forge = await createForger(idp);
    const invalid = [
      await forge({ oid: 'mallory' }),
      await idp.issueUserToken({ oid: 'late', expiresIn: -120 }),
      await idp.issueUserToken({ oid: 'elsewhere', aud: 'api://someone-else' }),
      'garbage.token.here',
    ];
    for (const token of invalid) {
      const error = await rejection(meFetch.for(asUser(token))(`${backend.url}/forged`));
      expect(error, token.slice(0, 20)).to.include({ code: 'ERR_USER_TOKEN_INVALID', status: 401 });
      expectNoLeak(error, idp, invalid);
    }
    const app = await startApp(meFetch, backend.url);
    apps.push(app);
    const res = await fetch(`${app.url}/summary`, { headers: { authorization: `Bearer ${invalid[0]}` } });
    expect(res.status).to.equal(401);
    expect(await res.json()).to.deep.equal({ code: 'ERR_USER_TOKEN_INVALID' });
    expect(backend.received).to.have.length(0);
    expect(idp.tokenRequests).to.have.length(0);
  });

  it('a cached delegated token is never sent past the user token\'s exp: then ERR_USER_TOKEN_INVALID, nothing sent', async () => {
    const alice = await idp.issueUserToken({ oid: 'alice-oid', expiresIn: 2 });
    const res = await meFetch.for(asUser(alice))(`${backend.url}/before`);
    expect(res.status).to.equal(200);
    const exp = claimsOf(alice).exp as number;
    // The exchanged token lives an hour; the user token it came from ends within 2 s.
    expect(idp.isIssued(backend.received[0]!.token!)!.expiresAt).to.be.greaterThan(exp * 1000 + 60_000);
    await new Promise((resolve) => setTimeout(resolve, exp * 1000 - Date.now() + 20));
    const error = await rejection(meFetch.for(asUser(alice))(`${backend.url}/after`));
    expect(error).to.include({ code: 'ERR_USER_TOKEN_INVALID' });
    expect(backend.received).to.have.length(1);
    expect(idp.tokenRequests).to.have.length(1);
  });

  it('without .for(req): rejects with ERR_USER_TOKEN_MISSING naming .for(req), and sends nothing', async () => {
    const error = await rejection(meFetch(`${backend.url}/who`));
    expect(error).to.include({ code: 'ERR_USER_TOKEN_MISSING' });
    expect(error.message).to.include('authFetch.for(req)');
    const noRequest = await rejection(meFetch.for(undefined as unknown as IncomingMessage)(`${backend.url}/who`));
    expect(noRequest).to.include({ code: 'ERR_USER_TOKEN_MISSING' });
    expect(backend.received).to.have.length(0);
    expect(idp.tokenRequests).to.have.length(0);
  });

  for (const major of [4, 5] as const) {
    it(`after the aadOnBehalfOf middleware ran on the request (Express ${major}): the same user, no second exchange`, async () => {
      // The middleware replaces the Authorization header with the delegated token; the client still finds the user.
      const app = await startApp(meFetch, backend.url, { before: obo as unknown as RequestHandler, express: major });
      apps.push(app);
      const alice = await idp.issueUserToken({ oid: 'alice-oid' });
      const res = await fetch(`${app.url}/summary`, { headers: { authorization: `Bearer ${alice}` } });
      expect(res.status).to.equal(200);
      expect(delegatedUsers(idp, backend)).to.deep.equal(['alice-oid', 'alice-oid']);
      expect(idp.tokenRequests).to.have.length(1);
    });
  }

  it('a session BFF (userToken from the session) and the provider itself as the source', async () => {
    const sessions = new Map<string, string>();
    const sessionObo = makeObo({ userToken: (req) => sessions.get(String(req.headers['x-session'])) });
    const sessionFetch = createAuthFetch(sessionObo.tokenProvider);
    expect(sessionFetch.tokenProvider).to.equal(sessionObo.tokenProvider);
    sessions.set('s-bob', await idp.issueUserToken({ oid: 'bob-oid' }));
    // The incoming request carries a session, an ambient credential: it must carry the anti-forgery header too.
    const forged = await rejection(sessionFetch.for(requestWith({ 'x-session': 's-bob' }))(`${backend.url}/session`));
    expect(forged).to.include({ code: 'ERR_ANTIFORGERY' });
    const res = await sessionFetch.for(requestWith({ 'x-session': 's-bob', 'x-csrf': '1' }))(`${backend.url}/session`);
    expect(res.status).to.equal(200);
    expect(delegatedUsers(idp, backend)).to.deep.equal(['bob-oid']);
    const error = await rejection(sessionFetch.for(requestWith({ 'x-session': 'unknown', 'x-csrf': '1' }))(`${backend.url}/session`));
    expect(error).to.include({ code: 'ERR_USER_TOKEN_MISSING' });
    expect(backend.received).to.have.length(1);
  });

  it('useAadBackendAuth refuses an aadOnBehalfOf middleware or provider at start-up, pointing to authFetch.for(req), and installs nothing', async () => {
    const instance = axios.create({ baseURL: backend.url });
    for (const source of [obo, obo.tokenProvider]) {
      let thrown: unknown;
      try {
        useAadBackendAuth(instance, source);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).to.be.instanceOf(AadBackendAuthError).and.to.include({ code: 'ERR_INVALID_OPTION' });
      expect((thrown as Error).message).to.include('"source"').and.to.include('createAuthFetch(source).for(req)');
    }
    const res = await instance.get('/plain');
    expect(res.status).to.equal(200);
    expect(backend.received[0]!.headers.authorization).to.equal(undefined);
    expect(idp.tokenRequests).to.have.length(0);
  });
});
