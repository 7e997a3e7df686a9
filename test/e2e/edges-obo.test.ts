// Issue 17, items 4 and 5: a slow IdP cannot hold user-token validation past `timeoutMs`,
// a failing JWKS is read a few times, not once per token, and only the right kind of user
// token is exchanged. A small IdP of our own on 127.0.0.1 signs whatever claims a row needs.
import { expect } from 'chai';
import http, { type RequestListener } from 'node:http';
import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { aadOnBehalfOf, type AadOnBehalfOfOptions } from '../../lib/index.js';
import { DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, startEntraEmulator } from '../../lib/testing/index.js';
import { startGateway, type Gateway } from '../helpers/gateway.js';
import { oboOptions } from '../helpers/on-behalf-of.js';
import { close, listen, startBackend, type Backend } from '../helpers/servers.js';

const TENANT = '7d3c2b1a-0f9e-4d8c-b7a6-958473625140';
const CLIENT = '5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9';
const REALM = '/realms/demo';

type Behaviour = 'ok' | 'trickle' | 500 | { delayMs: number };

/** An IdP of our own: discovery, JWKS and a token endpoint, each counted, each able to misbehave. */
interface OwnIdp {
  readonly url: string;
  /** The issuer of tokens for the on-behalf-of grant (`{url}/{tenant}/v2.0`). */
  readonly entraIssuer: string;
  /** The issuer for the token-exchange grant (`{url}/realms/demo`). */
  readonly realmIssuer: string;
  discovery: Behaviour;
  jwks: Behaviour;
  /** How long the token endpoint takes to answer. */
  tokenDelayMs: number;
  readonly counts: { discovery: number; jwks: number; token: number };
  /** A token with delegated-token claims, `claims` merged in (`undefined` drops a claim). */
  sign(claims?: Record<string, unknown>, issuer?: string): Promise<string>;
  /** The same claims, signed by a key the JWKS does not hold but with its `kid`: a forgery. */
  forge(claims?: Record<string, unknown>): Promise<string>;
  close(): Promise<void>;
}

async function startOwnIdp(): Promise<OwnIdp> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const forger = await generateKeyPair('RS256');
  const kid = 'own-idp-key';
  const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid, use: 'sig', alg: 'RS256' }] });
  const counts = { discovery: 0, jwks: 0, token: 0 };
  let url = '';
  const answer = (behaviour: Behaviour, body: () => string): RequestListener => (_req, res) => {
    if (behaviour === 500) {
      res.writeHead(500, { 'content-type': 'text/plain' }).end('keys are down');
    } else if (behaviour === 'trickle') {
      // 200 and one byte (JSON whitespace) every 500 ms, for ever: a socket idle timer never fires.
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(' ');
      const timer = setInterval(() => res.write(' '), 500);
      res.on('close', () => clearInterval(timer));
    } else {
      const send = (): void => void res.writeHead(200, { 'content-type': 'application/json' }).end(body());
      if (behaviour === 'ok') send();
      else setTimeout(send, behaviour.delayMs);
    }
  };
  const server = http.createServer((req, res) => {
    req.resume();
    const path = new URL(req.url ?? '/', url).pathname;
    if (path.endsWith('/.well-known/openid-configuration')) {
      counts.discovery++;
      const issuer = url + path.slice(0, -'/.well-known/openid-configuration'.length);
      answer(idp.discovery, () => JSON.stringify({ issuer, jwks_uri: `${url}/keys`, token_endpoint: `${issuer}/token` }))(req, res);
    } else if (path === '/keys') {
      counts.jwks++;
      answer(idp.jwks, () => jwks)(req, res);
    } else {
      counts.token++;
      void new Promise((resolve) => setTimeout(resolve, idp.tokenDelayMs)).then(() => sign({ scp: 'Orders.Read' }, `${url}/exchanged`).then((token) =>
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token_type: 'Bearer', expires_in: 3600, access_token: token })),
      ));
    }
  });
  url = await listen(server);
  const claimsOf = (claims: Record<string, unknown>, issuer: string): Record<string, unknown> => {
    const now = Math.floor(Date.now() / 1000);
    return { aud: `api://${CLIENT}`, iss: issuer, iat: now, nbf: now, exp: now + 3600, oid: randomUUID(), scp: 'access_as_user', ...claims };
  };
  const sign = (claims: Record<string, unknown> = {}, issuer = idp.entraIssuer): Promise<string> =>
    new SignJWT(claimsOf(claims, issuer)).setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid }).sign(privateKey);
  const idp: OwnIdp = {
    url,
    entraIssuer: `${url}/${TENANT}/v2.0`,
    realmIssuer: `${url}${REALM}`,
    discovery: 'ok',
    jwks: 'ok',
    tokenDelayMs: 0,
    counts,
    sign,
    forge: (claims = {}) => new SignJWT(claimsOf(claims, idp.entraIssuer)).setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid }).sign(forger.privateKey),
    close: () => close(server),
  };
  return idp;
}

function entraOptions(idp: OwnIdp, extra: Partial<AadOnBehalfOfOptions> = {}): AadOnBehalfOfOptions {
  return { tenantId: TENANT, clientId: CLIENT, clientSecret: 'not-a-real-secret', authorityHost: idp.url, scope: 'api://orders/Orders.Read', ...extra };
}

function exchangeOptions(idp: OwnIdp, extra: Partial<AadOnBehalfOfOptions> = {}): AadOnBehalfOfOptions {
  const issuer = idp.realmIssuer;
  return { grant: 'token-exchange', tokenUrl: `${issuer}/protocol/openid-connect/token`, issuer, clientId: CLIENT, clientSecret: 'not-a-real-secret', scope: 'orders', ...extra };
}

describe('aadOnBehalfOf at the edges (#17)', () => {
  let idp: OwnIdp;
  let backend: Backend;
  let gateway: Gateway | undefined;
  let closeAuth: (() => Promise<void>) | undefined;

  beforeEach(async () => {
    idp = await startOwnIdp();
    backend = await startBackend();
  });
  afterEach(async () => {
    await closeAuth?.();
    await gateway?.close();
    gateway = undefined;
    closeAuth = undefined;
    await backend.close();
    await idp.close();
  });

  async function start(options: AadOnBehalfOfOptions): Promise<void> {
    const auth = aadOnBehalfOf(options);
    closeAuth = () => auth.tokenProvider.close();
    gateway = await startGateway([{ path: '/api', auth, target: backend.url }]);
  }

  /** One request through the gateway, given up (throwing TimeoutError) after `giveUpMs`. */
  async function call(userToken: string, giveUpMs = 5000): Promise<{ status: number; code: unknown; elapsedMs: number }> {
    const started = Date.now();
    const res = await fetch(`${gateway!.url}/api/me`, { headers: { authorization: `Bearer ${userToken}` }, signal: AbortSignal.timeout(giveUpMs) });
    const text = await res.text();
    const code = res.headers.get('content-type')?.includes('json') === true ? (JSON.parse(text) as { code?: unknown }).code : undefined;
    return { status: res.status, code, elapsedMs: Date.now() - started };
  }

  describe('a slow IdP holds no request past timeoutMs (item 4)', () => {
    const TIMEOUT_MS = 1500;

    it('answers 503 ERR_IDP_UNAVAILABLE within timeoutMs + 1 s to every waiting request when discovery trickles a byte every 500 ms', async () => {
      idp.discovery = 'trickle';
      await start(entraOptions(idp, { timeoutMs: TIMEOUT_MS }));
      const tokens = await Promise.all([1, 2, 3].map((i) => idp.sign({ oid: `waiting-${i}` })));
      const answers = await Promise.all(tokens.map((token) => call(token, TIMEOUT_MS + 2500)));
      for (const answer of answers) {
        expect(answer).to.include({ status: 503, code: 'ERR_IDP_UNAVAILABLE' });
        expect(answer.elapsedMs).to.be.below(TIMEOUT_MS + 1000);
      }
      expect(idp.counts.discovery).to.equal(1);
      expect(idp.counts.token).to.equal(0);
      expect(backend.received).to.have.length(0);
    });

    it('holds discovery and the JWKS read together to timeoutMs: a slow discovery, then a trickling JWKS', async () => {
      const timeoutMs = 2000;
      // Each read alone ends within timeoutMs; the two in a row would not.
      idp.discovery = { delayMs: 1600 };
      idp.jwks = 'trickle';
      await start(entraOptions(idp, { timeoutMs }));
      const answer = await call(await idp.sign(), timeoutMs + 3000);
      expect(answer).to.include({ status: 503, code: 'ERR_IDP_UNAVAILABLE' });
      expect(answer.elapsedMs).to.be.below(timeoutMs + 1000);
      expect(idp.counts.jwks).to.equal(1);
      expect(idp.counts.token).to.equal(0);
      expect(backend.received).to.have.length(0);
    });

    it('holds validation and the exchange together to timeoutMs: a slow discovery, then a slow token endpoint', async () => {
      const timeoutMs = 2000;
      // Each step alone ends within timeoutMs; the two in a row would not.
      idp.discovery = { delayMs: 1200 };
      idp.tokenDelayMs = 1500;
      await start(entraOptions(idp, { timeoutMs }));
      const answer = await call(await idp.sign(), timeoutMs + 3000);
      expect(answer).to.include({ status: 503, code: 'ERR_IDP_UNAVAILABLE' });
      expect(answer.elapsedMs).to.be.below(timeoutMs + 1000);
      expect(idp.counts.token).to.equal(1);
      expect(backend.received).to.have.length(0);
    });

    it('remembers a failing JWKS read: 200 forged tokens while the JWKS answers 500 cost a few reads, not 200, then keys are read again', async function () {
      this.timeout(10_000);
      idp.jwks = 500;
      await start(entraOptions(idp, { timeoutMs: TIMEOUT_MS }));
      const forged = await Promise.all(Array.from({ length: 200 }, (_, i) => idp.forge({ oid: `forged-${i}` })));
      // One after another, so jose's single flight cannot merge them: each would be a read of its own.
      const started = Date.now();
      for (const token of forged) expect(await call(token)).to.include({ status: 503, code: 'ERR_IDP_UNAVAILABLE' });
      // A failure is remembered for 2 s: one read per 2 s that the 200 requests took, and a few at most.
      expect(idp.counts.jwks).to.be.within(1, Math.min(5, 2 + Math.floor((Date.now() - started) / 2000)));
      expect(idp.counts.token).to.equal(0);
      // The failure is remembered for a while, not for good.
      idp.jwks = 'ok';
      await new Promise((resolve) => setTimeout(resolve, 2100));
      expect(await call(await idp.sign())).to.include({ status: 200 });
      expect(await call(forged[0]!)).to.include({ status: 401, code: 'ERR_USER_TOKEN_INVALID' });
    });
  });

  describe('only delegated access tokens are exchanged with grant on-behalf-of (item 5)', () => {
    const rows: [string, Record<string, unknown>][] = [
      ['an app-only token (roles, no scp, idtyp app)', { scp: undefined, roles: ['Orders.Read'], idtyp: 'app' }],
      ['an app-only token without idtyp (roles, no scp)', { scp: undefined, roles: ['Orders.Read'] }],
      ['a token with idtyp app, even with an scp', { idtyp: 'app' }],
      ['an ID token (aud is the client id, a nonce, no scp)', { scp: undefined, aud: CLIENT, nonce: 'n-0S6_WzA2Mj' }],
      ['a token with an empty scp', { scp: '' }],
      ['a token whose scp is not a string', { scp: ['Orders.Read'] }],
    ];
    for (const [name, claims] of rows) {
      it(`refuses ${name} with 401 ERR_USER_TOKEN_INVALID and no IdP request`, async () => {
        await start(entraOptions(idp));
        expect(await call(await idp.sign(claims))).to.include({ status: 401, code: 'ERR_USER_TOKEN_INVALID' });
        expect(idp.counts).to.deep.equal({ discovery: 0, jwks: 0, token: 0 });
        expect(backend.received).to.have.length(0);
      });
    }

    it('exchanges a delegated token with an scp (the control)', async () => {
      await start(entraOptions(idp));
      expect(await call(await idp.sign({ scp: 'access_as_user', idtyp: 'user' }))).to.include({ status: 200 });
      expect(idp.counts.token).to.equal(1);
      expect(backend.received).to.have.length(1);
    });

    it("refuses the emulator's own app-only token for the BFF (client credentials), signed by the trusted key", async () => {
      const emulator = await startEntraEmulator();
      try {
        const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: DEFAULT_CLIENT_ID, client_secret: DEFAULT_CLIENT_SECRET, scope: `api://${DEFAULT_CLIENT_ID}/.default` });
        const minted = (await (await fetch(emulator.tokenUrl(), { method: 'POST', body: form })).json()) as { access_token: string };
        const claims = JSON.parse(Buffer.from(minted.access_token.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
        // The precondition: a genuine token the old validation accepted (right issuer and audience), but app-only.
        expect(claims).to.include({ iss: emulator.issuer(), aud: DEFAULT_CLIENT_ID }); // the BFF's own API is registered as v2
        expect(claims).to.not.have.property('scp');
        const auth = aadOnBehalfOf(oboOptions(emulator));
        closeAuth = () => auth.tokenProvider.close();
        gateway = await startGateway([{ path: '/api', auth, target: backend.url }]);
        const before = emulator.tokenRequests.length;
        expect(await call(minted.access_token)).to.include({ status: 401, code: 'ERR_USER_TOKEN_INVALID' });
        expect(emulator.tokenRequests.length - before).to.equal(0);
        expect(backend.received).to.have.length(0);
      } finally {
        await closeAuth?.();
        closeAuth = undefined;
        await emulator.close();
      }
    });
  });

  describe('evident ID tokens are refused with grant token-exchange (item 5)', () => {
    const rows: [string, Record<string, unknown>][] = [
      ['a token with a nonce claim', { nonce: 'n-0S6_WzA2Mj', scp: undefined }],
      ['a Keycloak ID token (typ "ID")', { typ: 'ID', scp: undefined, azp: CLIENT }],
    ];
    for (const [name, claims] of rows) {
      it(`refuses ${name} with 401 ERR_USER_TOKEN_INVALID and no IdP request`, async () => {
        await start(exchangeOptions(idp));
        expect(await call(await idp.sign(claims, idp.realmIssuer))).to.include({ status: 401, code: 'ERR_USER_TOKEN_INVALID' });
        expect(idp.counts).to.deep.equal({ discovery: 0, jwks: 0, token: 0 });
        expect(backend.received).to.have.length(0);
      });
    }

    it('exchanges a Keycloak access token (typ "Bearer", scopes in scope, no scp): no scp is required here', async () => {
      await start(exchangeOptions(idp));
      const token = await idp.sign({ typ: 'Bearer', scope: 'openid profile', scp: undefined }, idp.realmIssuer);
      expect(await call(token)).to.include({ status: 200 });
      expect(idp.counts.token).to.equal(1);
      expect(backend.received).to.have.length(1);
    });
  });
});
