import { expect } from 'chai';
import type { IncomingMessage } from 'node:http';
import { inspect } from 'node:util';
import { SignJWT } from 'jose';
import { createHash } from 'node:crypto';
import { aadOnBehalfOf, MemoryTokenCache, type AadBackendAuthError, type StoredToken } from '../../lib/index.js';
import { userValidatorOf } from '../helpers/user-validator.js';
import { DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, startEntraEmulator } from '../../lib/testing/index.js';
import { VERSION_MATRIX, startGateway } from '../helpers/gateway.js';
import { claimsOf, createForger, jwksReads, oboOptions, startOboStack, unsignedUserToken, type OboStack } from '../helpers/on-behalf-of.js';
import { createServer } from 'node:http';
import { close, listen, startBackend } from '../helpers/servers.js';
import { bearer } from '../helpers/setup.js';

const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

function get(stack: OboStack, userToken: string | undefined, path = '/api/me'): Promise<Response> {
  return fetch(`${stack.gateway.url}${path}`, { headers: userToken === undefined ? {} : { authorization: `Bearer ${userToken}` } });
}

function fakeRequest(userToken: string): IncomingMessage {
  return { headers: { authorization: `Bearer ${userToken}` } } as IncomingMessage;
}

describe('aadOnBehalfOf in front of http-proxy-middleware', () => {
  for (const versions of VERSION_MATRIX) {
    describe(`Express ${versions.express}, http-proxy-middleware ${versions.proxy}`, () => {
      let stack: OboStack;
      beforeEach(async () => {
        stack = await startOboStack({ ...versions, auth: () => ({ removeHeaders: ['cookie'] }) });
      });
      afterEach(() => stack.close());

      it("forwards the user's delegated token, never the user's own token, and exchanges with exactly the configured scope", async () => {
        const userToken = await stack.idp.issueUserToken({ oid: 'alice-oid', name: 'Alice' });
        const res = await fetch(`${stack.gateway.url}/api/me?x=1`, { headers: { authorization: `Bearer ${userToken}`, cookie: 'sid=1', 'x-kept': 'yes' } });
        expect(res.status).to.equal(200);
        const seen = stack.backend.received[0]!;
        expect(seen.url).to.equal('/me?x=1');
        const forwarded = bearer(seen.headers.authorization);
        expect(forwarded).to.be.a('string').and.not.equal(userToken);
        expect(JSON.stringify(seen.headers)).to.not.include(userToken);
        expect(seen.headers.cookie).to.equal(undefined);
        expect(seen.headers['x-kept']).to.equal('yes');
        expect(stack.idp.isIssued(forwarded!)).to.include({ audience: 'api://orders', oid: 'alice-oid', scp: 'Orders.Read', grant: 'on-behalf-of' });
        expect(claimsOf(forwarded)).to.include({ name: 'Alice', oid: 'alice-oid', scp: 'Orders.Read', aud: 'api://orders' });
        const [exchange] = stack.idp.tokenRequests;
        expect(exchange!.form).to.deep.equal({
          grant_type: JWT_BEARER,
          requested_token_use: 'on_behalf_of',
          assertion: userToken,
          scope: 'api://orders/Orders.Read',
          client_id: DEFAULT_CLIENT_ID,
          client_secret: DEFAULT_CLIENT_SECRET,
        });
      });
    });
  }
});

describe('aadOnBehalfOf: one exchange per user token, never shared', () => {
  let stack: OboStack;
  afterEach(() => stack.close());

  it('makes exactly 40 exchanges for 40 users with 10 concurrent cold requests each, and each request carries its own user', async () => {
    stack = await startOboStack({ emulator: { latencyMs: 50 } });
    const users = await Promise.all(Array.from({ length: 40 }, (_, i) => stack.idp.issueUserToken({ oid: `user-${i}`, name: `User ${i}` })));
    const requests = users.flatMap((token, i) =>
      Array.from({ length: 10 }, () => fetch(`${stack.gateway.url}/api/me?user=${i}`, { headers: { authorization: `Bearer ${token}` } })),
    );
    const answers = await Promise.all(requests);
    expect(answers.filter((r) => r.status !== 200)).to.have.length(0);
    expect(stack.idp.tokenRequests).to.have.length(40);
    expect(stack.auth.tokenProvider.stats()).to.include({ tokenRequests: 40, keys: 40 });
    expect(stack.backend.received).to.have.length(400);
    for (const seen of stack.backend.received) {
      const user = new URL(seen.url, 'http://x').searchParams.get('user');
      expect(claimsOf(bearer(seen.headers.authorization))).to.include({ oid: `user-${user}` });
    }
    expect(new Set(stack.backend.received.map((r) => r.headers.authorization)).size).to.equal(40);
    // Concurrent first requests with one user token share its validation too: RS256 once per user.
    expect(userValidatorOf(stack.auth).verifications).to.equal(40);
  });

  it('runs RS256 once per user token: a warm user costs no verification per request', async () => {
    stack = await startOboStack();
    const validator = userValidatorOf(stack.auth);
    const alice = await stack.idp.issueUserToken({ name: 'Alice' });
    const bob = await stack.idp.issueUserToken({ name: 'Bob' });
    for (let i = 0; i < 100; i++) {
      expect((await get(stack, i % 2 === 0 ? alice : bob)).status).to.equal(200);
    }
    expect(validator.verifications).to.equal(2);
    expect(stack.idp.tokenRequests).to.have.length(2);
    expect(stack.auth.tokenProvider.stats()).to.include({ cacheHits: 98 });
  });

  it('holds at most maxUsers user tokens (LRU) and exchanges again for an evicted one', async () => {
    stack = await startOboStack({ auth: () => ({ maxUsers: 5 }) });
    const users = await Promise.all(Array.from({ length: 12 }, (_, i) => stack.idp.issueUserToken({ oid: `u${i}` })));
    for (const token of users) {
      expect((await get(stack, token)).status).to.equal(200);
      expect(stack.auth.tokenProvider.stats().keys).to.be.at.most(5);
    }
    expect(stack.auth.tokenProvider.stats().keys).to.equal(5);
    expect(stack.idp.tokenRequests).to.have.length(12);
    expect((await get(stack, users[11]!)).status).to.equal(200); // still held
    expect(stack.idp.tokenRequests).to.have.length(12);
    expect((await get(stack, users[0]!)).status).to.equal(200); // evicted long ago
    expect(stack.idp.tokenRequests).to.have.length(13);
    expect(stack.auth.tokenProvider.stats().keys).to.equal(5);
  });

  it("never uses a cached exchange past the user token's exp", async () => {
    stack = await startOboStack();
    const userToken = await stack.idp.issueUserToken({ expiresIn: 2 });
    const exp = claimsOf(userToken).exp as number;
    expect((await get(stack, userToken)).status).to.equal(200);
    const held = stack.auth.tokenProvider.peek(fakeRequest(userToken));
    expect(held?.useUntilTimestamp).to.be.at.most(exp * 1000);
    // The delegated token itself lives an hour; the user's token ends first.
    expect(held!.expiresOnTimestamp - exp * 1000).to.be.above(3_000_000);
    await new Promise((resolve) => setTimeout(resolve, exp * 1000 - Date.now() + 50));
    const late = await get(stack, userToken);
    expect(late.status).to.equal(401);
    expect(await late.json()).to.include({ code: 'ERR_USER_TOKEN_INVALID' });
    expect(stack.backend.received).to.have.length(1);
    expect(stack.idp.tokenRequests).to.have.length(1);
  });

  it("tokenProvider.getToken(req) resolves that request's user's exchanged token", async () => {
    stack = await startOboStack();
    const alice = await stack.idp.issueUserToken({ oid: 'alice' });
    const bob = await stack.idp.issueUserToken({ oid: 'bob' });
    const [a, b] = await Promise.all([stack.auth.tokenProvider.getToken(fakeRequest(alice)), stack.auth.tokenProvider.getToken(fakeRequest(bob))]);
    expect(claimsOf(a.token)).to.include({ oid: 'alice' });
    expect(claimsOf(b.token)).to.include({ oid: 'bob' });
    expect((await get(stack, alice)).status).to.equal(200);
    expect(bearer(stack.backend.received[0]!.headers.authorization)).to.equal(a.token);
    expect(stack.idp.tokenRequests).to.have.length(2);
    const missing = await stack.auth.tokenProvider.getToken({ headers: {} } as IncomingMessage).catch((e: AadBackendAuthError) => e);
    expect(missing).to.include({ code: 'ERR_USER_TOKEN_MISSING', status: 401 });
  });
});

describe('aadOnBehalfOf: invalid user tokens never reach the IdP', () => {
  let stack: OboStack;
  before(async () => {
    stack = await startOboStack({ emulator: { tenants: ['e7a3c9d0-5b1f-4c2e-9a6d-0f1e2d3c4b5a', 'fabrikam.onmicrosoft.com'] } });
  });
  after(() => stack.close());
  beforeEach(() => stack.idp.reset());

  const cases: [string, (s: OboStack) => Promise<string>][] = [
    ['forged (another key, same kid)', async (s) => (await createForger(s.idp))()],
    ['expired', (s) => s.idp.issueUserToken({ expiresIn: -120 })],
    ['not yet valid', (s) => s.idp.issueUserToken({ notBeforeIn: 600 })],
    ['for another audience', (s) => s.idp.issueUserToken({ aud: 'api://someone-else' })],
    ['from another issuer', (s) => s.idp.issueUserToken({ tenant: 'fabrikam.onmicrosoft.com' })],
    ['unsigned (alg none)', async (s) => unsignedUserToken(s.idp)],
    ['HMAC-signed (HS256)', (s) => new SignJWT({ aud: `api://${DEFAULT_CLIENT_ID}`, iss: s.idp.issuer() }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('1h').sign(new Uint8Array(32))],
    [
      'whose payload was altered after a validated token (same signature)',
      async (s) => {
        const genuine = await s.idp.issueUserToken({ oid: 'victim' });
        expect((await get(s, genuine)).status).to.equal(200); // now remembered as valid
        s.idp.reset();
        s.backend.received.length = 0;
        const [header, payload, signature] = genuine.split('.');
        const altered = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload!, 'base64url').toString()), oid: 'attacker' })).toString('base64url');
        return `${header}.${altered}.${signature}`;
      },
    ],
    ['garbage', async () => 'not-a-jwt'],
    ['three garbage segments', async () => 'aaa.bbb.ccc'],
  ];
  for (const [name, make] of cases) {
    it(`answers 401 ERR_USER_TOKEN_INVALID for a token ${name}, with no token request`, async () => {
      const res = await get(stack, await make(stack));
      expect(res.status).to.equal(401);
      expect(res.headers.get('content-type')).to.equal('application/problem+json');
      expect(res.headers.get('www-authenticate')).to.equal('Bearer error="invalid_token"');
      expect(await res.json()).to.include({ status: 401, code: 'ERR_USER_TOKEN_INVALID' });
      expect(stack.idp.tokenRequests).to.have.length(0);
      expect(stack.backend.received).to.have.length(0);
    });
  }

  it('answers 401 ERR_USER_TOKEN_MISSING with WWW-Authenticate: Bearer without a token or with another scheme', async () => {
    for (const headers of [{}, { authorization: 'Basic dXNlcjpwYXNz' }, { authorization: 'Bearer' }]) {
      const res = await fetch(`${stack.gateway.url}/api/me`, { headers });
      expect(res.status).to.equal(401);
      expect(res.headers.get('www-authenticate')).to.equal('Bearer');
      expect(await res.json()).to.include({ code: 'ERR_USER_TOKEN_MISSING' });
    }
    expect(stack.idp.tokenRequests).to.have.length(0);
    expect(stack.backend.received).to.have.length(0);
  });

  it('spends no token request and at most a couple of JWKS reads on 300 forged tokens', async () => {
    const forge = await createForger(stack.idp);
    const forged = await Promise.all(Array.from({ length: 300 }, (_, i) => forge({ oid: `forged-${i}` })));
    const before = jwksReads(stack.idp);
    const answers = await Promise.all(forged.map((token) => get(stack, token)));
    expect(answers.every((r) => r.status === 401)).to.equal(true);
    expect(stack.idp.tokenRequests).to.have.length(0);
    expect(jwksReads(stack.idp) - before).to.be.at.most(2);
    expect(stack.backend.received).to.have.length(0);
  });
});

describe('aadOnBehalfOf: IdP answers', () => {
  let stack: OboStack;
  beforeEach(async () => {
    // A short timeout, so the retries against a failing IdP give up quickly.
    stack = await startOboStack({ auth: () => ({ timeoutMs: 1500 }) });
  });
  afterEach(() => stack.close());

  it('answers the MFA claims challenge with 401 ERR_USER_INTERACTION_REQUIRED and WWW-Authenticate claims, forwarding nothing', async () => {
    const claims = { access_token: { capolids: { essential: true, values: ['policy-1'] } } };
    stack.idp.fail({ kind: 'interaction-required', claims });
    const res = await get(stack, await stack.idp.issueUserToken());
    expect(res.status).to.equal(401);
    const challenge = res.headers.get('www-authenticate')!;
    const match = /^Bearer error="insufficient_claims", claims="([A-Za-z0-9+/=]+)"$/.exec(challenge);
    expect(match, challenge).to.not.equal(null);
    expect(JSON.parse(Buffer.from(match![1]!, 'base64').toString('utf8'))).to.deep.equal(claims);
    const text = await res.text();
    expect(JSON.parse(text)).to.include({ status: 401, code: 'ERR_USER_INTERACTION_REQUIRED' });
    expect(text).to.not.match(/AADSTS/);
    expect(stack.backend.received).to.have.length(0);
  });

  it('treats AADSTS50079 without claims as interaction required too', async () => {
    stack.idp.fail({ kind: 'interaction-required', code: 50079, claims: null });
    const res = await get(stack, await stack.idp.issueUserToken());
    expect(res.status).to.equal(401);
    expect(res.headers.get('www-authenticate')).to.equal('Bearer error="insufficient_claims"');
    expect(await res.json()).to.include({ code: 'ERR_USER_INTERACTION_REQUIRED' });
  });

  it('answers missing consent with 403 ERR_USER_CONSENT_REQUIRED', async () => {
    stack.idp.fail({ kind: 'consent-required' });
    const res = await get(stack, await stack.idp.issueUserToken());
    expect(res.status).to.equal(403);
    const text = await res.text();
    expect(JSON.parse(text)).to.include({ status: 403, code: 'ERR_USER_CONSENT_REQUIRED' });
    expect(text).to.not.match(/AADSTS|65001/);
    expect(stack.backend.received).to.have.length(0);
  });

  it('answers 502 ERR_IDP_REJECTED for another refusal, and 503 for an IdP that keeps failing', async () => {
    stack.idp.fail({ kind: 'oauth-error', error: 'invalid_client' });
    const rejected = await get(stack, await stack.idp.issueUserToken({ oid: 'a' }));
    expect(rejected.status).to.equal(502);
    expect(await rejected.json()).to.include({ code: 'ERR_IDP_REJECTED' });
    stack.idp.fail({ kind: 'status', status: 500 }, Infinity);
    const unavailable = await get(stack, await stack.idp.issueUserToken({ oid: 'b' }));
    expect(unavailable.status).to.equal(503);
    expect(await unavailable.json()).to.include({ code: 'ERR_IDP_UNAVAILABLE' });
    expect(stack.backend.received).to.have.length(0);
  });

  it('never shows the user token, the exchanged token or the secret in logs, errors or inspect output', async () => {
    const lines: string[] = [];
    const logger = { debug: (m: string) => lines.push(m), info: (m: string) => lines.push(m), warn: (m: string) => lines.push(m), error: (m: string) => lines.push(m) };
    const backend = await startBackend();
    const auth = aadOnBehalfOf(oboOptions(stack.idp, { logger }));
    const gateway = await startGateway([{ path: '/api', auth, target: backend.url }]);
    try {
      const userToken = await stack.idp.issueUserToken();
      expect((await fetch(`${gateway.url}/api/x`, { headers: { authorization: `Bearer ${userToken}` } })).status).to.equal(200);
      stack.idp.fail({ kind: 'interaction-required' });
      const other = await stack.idp.issueUserToken({ oid: 'other' });
      const error = await auth.tokenProvider.getToken(fakeRequest(other)).catch((e: unknown) => e);
      const exchanged = bearer(backend.received[0]!.headers.authorization)!;
      const everything = [lines.join('\n'), inspect(auth.tokenProvider, { depth: 10, showHidden: true }), inspect(error, { depth: 10 }), JSON.stringify(error)].join('\n');
      expect(lines.length).to.be.above(0);
      for (const secret of [userToken, other, exchanged, DEFAULT_CLIENT_SECRET]) expect(everything).to.not.include(secret);
    } finally {
      await auth.tokenProvider.close();
      await gateway.close();
      await backend.close();
    }
  });
});

describe('aadOnBehalfOf: discovery and keys', () => {
  it('answers 503 ERR_IDP_UNAVAILABLE when discovery answers no usable document, and when the authority is unreachable', async () => {
    const idp = await startEntraEmulator();
    const backend = await startBackend();
    const notAnIdp = await startBackend();
    const broken = aadOnBehalfOf(oboOptions(idp, { authorityHost: notAnIdp.url }));
    const closedUrl = notAnIdp.url;
    const gateway = await startGateway([
      { path: '/broken', auth: broken, target: backend.url },
    ]);
    try {
      const userToken = await idp.issueUserToken();
      const res = await fetch(`${gateway.url}/broken/x`, { headers: { authorization: `Bearer ${userToken}` } });
      expect(res.status).to.equal(503);
      expect(await res.json()).to.include({ code: 'ERR_IDP_UNAVAILABLE' });
      await notAnIdp.close();
      const unreachable = aadOnBehalfOf(oboOptions(idp, { authorityHost: closedUrl, timeoutMs: 2000 }));
      const error = await unreachable.tokenProvider.getToken(fakeRequest(userToken)).catch((e: AadBackendAuthError) => e);
      expect(error).to.include({ code: 'ERR_IDP_UNAVAILABLE', status: 503 });
      await unreachable.tokenProvider.close();
      expect(backend.received).to.have.length(0);
      expect(idp.tokenRequests).to.have.length(0);
    } finally {
      await broken.tokenProvider.close();
      await gateway.close();
      await backend.close();
      await idp.close();
    }
  });
});

describe('aadOnBehalfOf: the optional second tier', () => {
  it('shares nothing user-specific beyond the in-process LRU without a cache, and keys a given cache by the SHA-256 of the user token', async () => {
    const idp = await startEntraEmulator();
    const userToken = await idp.issueUserToken({ oid: 'tiered' });
    const keys: string[] = [];
    const store = new MemoryTokenCache();
    const recording = {
      get: (key: string) => (keys.push(key), store.get(key)),
      set: (key: string, value: StoredToken, ttlMs: number) => (keys.push(key), store.set(key, value, ttlMs)),
      delete: (key: string) => store.delete(key),
    };
    const [first, second] = [aadOnBehalfOf(oboOptions(idp)), aadOnBehalfOf(oboOptions(idp))];
    const [firstTiered, secondTiered] = [aadOnBehalfOf(oboOptions(idp, { cache: recording })), aadOnBehalfOf(oboOptions(idp, { cache: recording }))];
    try {
      await first.tokenProvider.getToken(fakeRequest(userToken));
      await second.tokenProvider.getToken(fakeRequest(userToken));
      expect(idp.tokenRequests).to.have.length(2);
      const a = await firstTiered.tokenProvider.getToken(fakeRequest(userToken));
      const b = await secondTiered.tokenProvider.getToken(fakeRequest(userToken));
      expect(idp.tokenRequests).to.have.length(3);
      expect(b.token).to.equal(a.token);
      expect(b.useUntilTimestamp).to.be.at.most((claimsOf(userToken).exp as number) * 1000);
      const hash = createHash('sha256').update(userToken).digest('base64url');
      expect(keys.length).to.be.above(0);
      for (const key of keys) {
        expect(key.endsWith(`|user:${hash}`)).to.equal(true);
        expect(key).to.not.include(userToken);
      }
    } finally {
      for (const m of [first, second, firstTiered, secondTiered]) await m.tokenProvider.close();
      await idp.close();
    }
  });
});

describe('aadOnBehalfOf: unreachable keys', () => {
  it('answers 503 ERR_IDP_UNAVAILABLE, not 401, when discovery works but the JWKS cannot be read', async () => {
    const idp = await startEntraEmulator();
    const deadKeys = await startBackend();
    const jwksUri = `${deadKeys.url}/keys`;
    await deadKeys.close();
    // An authority whose discovery names the emulator's issuer but a JWKS nobody answers.
    const discovery = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ issuer: idp.issuer(), jwks_uri: jwksUri }));
    });
    const authority = await listen(discovery);
    const auth = aadOnBehalfOf(oboOptions(idp, { authorityHost: authority, timeoutMs: 2000 }));
    try {
      const error = await auth.tokenProvider.getToken(fakeRequest(await idp.issueUserToken())).catch((e: AadBackendAuthError) => e);
      expect(error).to.include({ code: 'ERR_IDP_UNAVAILABLE', status: 503 });
      expect(idp.tokenRequests).to.have.length(0);
    } finally {
      await auth.tokenProvider.close();
      await close(discovery);
      await idp.close();
    }
  });
});

describe('aadOnBehalfOf with userToken from a session', () => {
  let stack: OboStack;
  afterEach(() => stack.close());

  it("takes the user token from the function, and the client's own Authorization header never reaches the backend", async () => {
    let sessionToken: string | undefined;
    stack = await startOboStack({ auth: () => ({ userToken: () => sessionToken }) });
    sessionToken = await stack.idp.issueUserToken({ oid: 'session-user' });
    // A user token from a session is an ambient credential: anti-forgery is on by default.
    const forged = await fetch(`${stack.gateway.url}/api/me`, { headers: { authorization: 'Bearer the-clients-own-token' } });
    expect(forged.status).to.equal(403);
    expect(await forged.json()).to.include({ code: 'ERR_ANTIFORGERY' });
    const res = await fetch(`${stack.gateway.url}/api/me`, { headers: { authorization: 'Bearer the-clients-own-token', 'x-csrf': '1' } });
    expect(res.status).to.equal(200);
    const forwarded = bearer(stack.backend.received[0]!.headers.authorization);
    expect(forwarded).to.not.equal('the-clients-own-token');
    expect(claimsOf(forwarded)).to.include({ oid: 'session-user' });
    sessionToken = undefined;
    const missing = await fetch(`${stack.gateway.url}/api/me`, { headers: { authorization: `Bearer ${await stack.idp.issueUserToken()}`, 'x-csrf': '1' } });
    expect(missing.status).to.equal(401);
    expect(await missing.json()).to.include({ code: 'ERR_USER_TOKEN_MISSING' });
  });
});

describe('aadOnBehalfOf with RFC 8693 token exchange', () => {
  let stack: OboStack;
  afterEach(() => stack.close());

  it('exchanges with grant_type token-exchange at tokenUrl, with keys from {issuer}/.well-known/openid-configuration', async () => {
    stack = await startOboStack({
      auth: (idp) => ({ grant: 'token-exchange', tenantId: undefined, authorityHost: undefined, tokenUrl: idp.tokenUrl(), issuer: idp.issuer() }),
    });
    const userToken = await stack.idp.issueUserToken({ oid: 'kc-user' });
    expect((await get(stack, userToken)).status).to.equal(200);
    const [exchange] = stack.idp.tokenRequests;
    expect(exchange!.form).to.deep.include({
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      subject_token: userToken,
      subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      scope: 'api://orders/Orders.Read',
    });
    expect(exchange!.form).to.not.have.property('assertion');
    const discovery = stack.idp.requests.find((r) => r.path.endsWith('openid-configuration'));
    expect(discovery?.path).to.equal(`${new URL(stack.idp.issuer()).pathname}/.well-known/openid-configuration`);
    const forwarded = bearer(stack.backend.received[0]!.headers.authorization);
    expect(stack.idp.isIssued(forwarded!)).to.include({ grant: 'token-exchange', oid: 'kc-user' });
  });
});
