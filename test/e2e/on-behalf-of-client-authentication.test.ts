// Issue 13's client credentials for aadOnBehalfOf, against the emulator through real Express and
// http-proxy-middleware: client_secret_basic, a certificate (private_key_jwt), a clientAssertion,
// a secret function rotated at the IdP between two users' exchanges, RFC 8693 with Basic,
// tokenParameters in the form and in the key, and the user errors still mapped when the
// exchange goes through the shared token requester.
import { expect } from 'chai';
import { X509Certificate } from 'node:crypto';
import { SignJWT, decodeJwt, decodeProtectedHeader, importPKCS8 } from 'jose';
import { aadOnBehalfOf, MemoryTokenCache, type AadOnBehalfOfOptions } from '../../lib/index.js';
import { DEFAULT_TENANT_ID, type EmulatorClient, type RecordedRequest } from '../../lib/testing/index.js';
import { makeCertificate, type TestCertificate } from '../helpers/certificates.js';
import { claimsOf, ORDERS_SCOPE, startOboStack, type OboStack } from '../helpers/on-behalf-of.js';
import { bearer } from '../helpers/setup.js';
import type { IncomingMessage } from 'node:http';

const SECRET_CLIENT = '3b4c5d6e-7f80-4a1b-8c2d-3e4f5a6b7c8d';
const CERT_CLIENT = '4c5d6e7f-8091-4b2c-9d3e-4f5a6b7c8d9e';
/** `:` splits Basic, `%` and `+` decode, `~` and space differ between encoders. */
const AWKWARD_SECRET = 'obo:se%cret~with+plus and space';
const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

const thumbprintOf = (c: TestCertificate): string => Buffer.from(new X509Certificate(c.certificate).fingerprint256.replaceAll(':', ''), 'hex').toString('base64url');

describe('aadOnBehalfOf with every client credential of issue 13', () => {
  let registered: TestCertificate;
  let stranger: TestCertificate;
  let stack: OboStack;

  before(async () => {
    [registered, stranger] = await Promise.all([makeCertificate('obo client'), makeCertificate('obo stranger')]);
  });
  afterEach(() => stack?.close());

  // Both BFFs expose v2 APIs: aadOnBehalfOf offline accepts the v2 discovery issuer only.
  const clients = (): EmulatorClient[] => [
    { clientId: SECRET_CLIENT, clientSecret: AWKWARD_SECRET, accessTokenVersion: 2 },
    { clientId: CERT_CLIENT, certificate: registered.certificate, accessTokenVersion: 2 },
  ];

  /** The emulator with both clients, and aadOnBehalfOf for `clientId` with `auth` (no secret unless given). */
  async function start(clientId: string, auth: (stack: { tokenUrl: string; issuer: string }) => Partial<AadOnBehalfOfOptions>): Promise<OboStack> {
    stack = await startOboStack({
      emulator: { clients: clients() },
      auth: (idp) => ({ clientId, clientSecret: undefined, timeoutMs: 2000, ...auth({ tokenUrl: idp.tokenUrl(DEFAULT_TENANT_ID), issuer: idp.issuer() }) }),
    });
    return stack;
  }

  const userOf = (clientId: string, oid: string): Promise<string> => stack.idp.issueUserToken({ oid, name: oid, aud: `api://${clientId}` });
  const call = (userToken: string, path = '/api/me'): Promise<Response> => fetch(`${stack.gateway.url}${path}`, { headers: { authorization: `Bearer ${userToken}` } });
  const exchanges = (): RecordedRequest[] => stack.idp.tokenRequests;

  /** What the backend got for the n-th request: a delegated token the emulator issued to `clientId` for `oid`. */
  function expectDelegated(n: number, clientId: string, oid: string, grant = 'on-behalf-of'): void {
    const forwarded = bearer(stack.backend.received[n]!.headers.authorization);
    expect(stack.idp.isIssued(forwarded!)).to.include({ clientId, oid, grant, audience: 'api://orders' });
  }

  it('client_secret_basic: id and secret form-encoded in the Basic header, neither in the form', async () => {
    await start(SECRET_CLIENT, () => ({ clientSecret: AWKWARD_SECRET, clientAuthentication: 'client_secret_basic' }));
    const alice = await userOf(SECRET_CLIENT, 'alice');
    expect((await call(alice)).status).to.equal(200);
    expectDelegated(0, SECRET_CLIENT, 'alice');
    const [exchange] = exchanges();
    const decoded = Buffer.from(exchange!.headers.authorization!.replace(/^Basic /, ''), 'base64').toString('utf8');
    expect(decoded).to.equal(`${SECRET_CLIENT}:obo%3Ase%25cret%7Ewith%2Bplus+and+space`);
    expect(exchange!.form).to.deep.equal({ grant_type: JWT_BEARER, requested_token_use: 'on_behalf_of', assertion: alice, scope: ORDERS_SCOPE });
  });

  it('clientCertificate: a fresh private_key_jwt assertion per exchange, aud = the token endpoint, x5t#S256, no secret', async () => {
    await start(CERT_CLIENT, () => ({ clientCertificate: registered }));
    const [alice, bob] = [await userOf(CERT_CLIENT, 'alice'), await userOf(CERT_CLIENT, 'bob')];
    expect((await call(alice)).status).to.equal(200);
    expect((await call(bob)).status).to.equal(200);
    expectDelegated(0, CERT_CLIENT, 'alice');
    expectDelegated(1, CERT_CLIENT, 'bob');
    const [a, b] = exchanges().map((r) => r.form);
    expect(a).to.include({ client_id: CERT_CLIENT, client_assertion_type: ASSERTION_TYPE, assertion: alice, grant_type: JWT_BEARER });
    expect(a).to.not.have.property('client_secret');
    expect(decodeProtectedHeader(a!.client_assertion!)).to.include({ alg: 'RS256', 'x5t#S256': thumbprintOf(registered) });
    expect(decodeJwt(a!.client_assertion!)).to.include({ iss: CERT_CLIENT, sub: CERT_CLIENT, aud: stack.idp.tokenUrl(DEFAULT_TENANT_ID) });
    expect(decodeJwt(a!.client_assertion!).jti).to.not.equal(decodeJwt(b!.client_assertion!).jti);
  });

  it('an unregistered certificate: the exchange is refused (AADSTS700027), 502, nothing forwarded', async () => {
    await start(CERT_CLIENT, () => ({ clientCertificate: stranger }));
    const res = await call(await userOf(CERT_CLIENT, 'alice'));
    expect(res.status).to.equal(502);
    expect(await res.json()).to.include({ code: 'ERR_IDP_REJECTED' });
    expect(stack.backend.received).to.have.length(0);
  });

  it('clientAssertion: read again for every exchange and sent as a jwt-bearer client_assertion', async () => {
    const key = await importPKCS8(registered.privateKey, 'RS256');
    const made: string[] = [];
    const assertion = async (): Promise<string> => {
      const now = Math.floor(Date.now() / 1000);
      const jwt = await new SignJWT({})
        .setProtectedHeader({ alg: 'RS256', 'x5t#S256': thumbprintOf(registered) })
        .setIssuer(CERT_CLIENT)
        .setSubject(CERT_CLIENT)
        .setAudience(stack.idp.tokenUrl(DEFAULT_TENANT_ID))
        .setJti(crypto.randomUUID())
        .setIssuedAt(now)
        .setExpirationTime(now + 300)
        .sign(key);
      made.push(jwt);
      return jwt;
    };
    await start(CERT_CLIENT, () => ({ clientAssertion: assertion }));
    expect((await call(await userOf(CERT_CLIENT, 'alice'))).status).to.equal(200);
    expect((await call(await userOf(CERT_CLIENT, 'bob'))).status).to.equal(200);
    expect(made).to.have.length(2);
    expect(exchanges().map((r) => r.form.client_assertion)).to.deep.equal(made);
    expectDelegated(1, CERT_CLIENT, 'bob');
  });

  it('a secret function rotated at the IdP between two exchanges: invalid_client, one re-read, and no outage', async () => {
    const reads = ['secret-v1', 'secret-v1', 'secret-v2'];
    let calls = 0;
    await start(SECRET_CLIENT, () => ({ clientSecret: () => reads[Math.min(calls++, reads.length - 1)]!, clientAuthentication: 'client_secret_basic' }));
    const errors: unknown[] = [];
    stack.auth.tokenProvider.on('error', (e) => errors.push(e));
    stack.idp.rotateClientSecret(SECRET_CLIENT, 'secret-v1');
    expect((await call(await userOf(SECRET_CLIENT, 'alice'))).status).to.equal(200);
    stack.idp.rotateClientSecret(SECRET_CLIENT, 'secret-v2');
    expect((await call(await userOf(SECRET_CLIENT, 'bob'))).status).to.equal(200);
    expectDelegated(1, SECRET_CLIENT, 'bob');
    expect(calls).to.equal(3);
    expect(errors).to.deep.equal([]);
    const sent = exchanges().map((r) => Buffer.from(r.headers.authorization!.slice(6), 'base64').toString().split(':')[1]);
    expect(sent).to.deep.equal(['secret-v1', 'secret-v1', 'secret-v2']);
    // The stale attempt and the retry carried Bob's token; Alice's exchange was not repeated.
    expect(exchanges().map((r) => claimsOf(r.form.assertion).oid)).to.deep.equal(['alice', 'bob', 'bob']);
  });

  it('RFC 8693 token exchange with client_secret_basic', async () => {
    await start(SECRET_CLIENT, ({ tokenUrl, issuer }) => ({
      grant: 'token-exchange',
      tenantId: undefined,
      authorityHost: undefined,
      tokenUrl,
      issuer,
      clientSecret: AWKWARD_SECRET,
      clientAuthentication: 'client_secret_basic',
    }));
    const alice = await userOf(SECRET_CLIENT, 'alice');
    expect((await call(alice)).status).to.equal(200);
    expectDelegated(0, SECRET_CLIENT, 'alice', 'token-exchange');
    const [exchange] = exchanges();
    expect(exchange!.headers.authorization).to.match(/^Basic /);
    expect(exchange!.form).to.deep.equal({
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      subject_token: alice,
      subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      scope: ORDERS_SCOPE,
    });
  });

  it('user errors through a certificate client: the MFA claims challenge is a 401 with base64 claims, missing consent a 403', async () => {
    await start(CERT_CLIENT, () => ({ clientCertificate: registered }));
    const claims = { access_token: { capolids: { essential: true, values: ['policy-obo'] } } };
    stack.idp.fail({ kind: 'interaction-required', claims });
    const stepUp = await call(await userOf(CERT_CLIENT, 'alice'));
    expect(stepUp.status).to.equal(401);
    const match = /^Bearer error="insufficient_claims", claims="([A-Za-z0-9+/=]+)"$/.exec(stepUp.headers.get('www-authenticate') ?? '');
    expect(match).to.not.equal(null);
    expect(JSON.parse(Buffer.from(match![1]!, 'base64').toString('utf8'))).to.deep.equal(claims);
    expect(await stepUp.json()).to.include({ status: 401, code: 'ERR_USER_INTERACTION_REQUIRED' });
    stack.idp.fail({ kind: 'consent-required' });
    const consent = await call(await userOf(CERT_CLIENT, 'bob'));
    expect(consent.status).to.equal(403);
    const text = await consent.text();
    expect(JSON.parse(text)).to.include({ status: 403, code: 'ERR_USER_CONSENT_REQUIRED' });
    expect(text).to.not.match(/AADSTS|65001/);
    expect(exchanges().every((r) => r.form.client_assertion !== undefined)).to.equal(true);
    expect(stack.backend.received).to.have.length(0);
  });

  it('an assertion the IdP finds expired (AADSTS500133) is the user token at fault: 401 ERR_USER_TOKEN_INVALID', async () => {
    await start(SECRET_CLIENT, () => ({ clientSecret: AWKWARD_SECRET, clientAuthentication: 'client_secret_basic' }));
    const body = { error: 'invalid_grant', error_description: 'AADSTS500133: Assertion is not within its valid time range.', error_codes: [500133] };
    stack.idp.fail({ kind: 'status', status: 400, body: JSON.stringify(body) });
    const res = await call(await userOf(SECRET_CLIENT, 'alice'));
    expect(res.status).to.equal(401);
    expect(await res.json()).to.include({ code: 'ERR_USER_TOKEN_INVALID' });
  });

  it('tokenParameters: sent with the exchange, and part of the key, so another value never shares a cached exchange', async () => {
    stack = await startOboStack({ emulator: { clients: clients() }, auth: () => ({ clientId: SECRET_CLIENT, clientSecret: AWKWARD_SECRET }) });
    const cache = new MemoryTokenCache();
    const keys: string[] = [];
    const recording = { get: (k: string) => (keys.push(k), cache.get(k)), set: cache.set.bind(cache), delete: cache.delete.bind(cache) };
    const options = (audience: string): AadOnBehalfOfOptions => ({
      tenantId: DEFAULT_TENANT_ID,
      clientId: SECRET_CLIENT,
      clientSecret: AWKWARD_SECRET,
      authorityHost: stack.idp.url,
      scope: ORDERS_SCOPE,
      cache: recording,
      tokenParameters: { audience },
    });
    const [a1, a2, b] = [aadOnBehalfOf(options('https://a.example')), aadOnBehalfOf(options('https://a.example')), aadOnBehalfOf(options('https://b.example'))];
    const alice = await userOf(SECRET_CLIENT, 'alice');
    const req = { headers: { authorization: `Bearer ${alice}` } } as IncomingMessage;
    try {
      const first = await a1.tokenProvider.getToken(req);
      const shared = await a2.tokenProvider.getToken(req);
      const other = await b.tokenProvider.getToken(req);
      expect(shared.token).to.equal(first.token);
      expect(other.token).to.not.equal(first.token);
      expect(exchanges().map((r) => r.form.audience)).to.deep.equal(['https://a.example', 'https://b.example']);
      expect(exchanges()[0]!.form).to.include({ grant_type: JWT_BEARER, assertion: alice, scope: ORDERS_SCOPE });
      expect(new Set(keys).size).to.equal(2);
      expect(keys.every((k) => /\|audience=https%3A%2F%2F[ab]\.example\|/.test(k) && !k.includes(alice))).to.equal(true);
    } finally {
      await Promise.all([a1, a2, b].map((m) => m.tokenProvider.close()));
    }
  });
});
