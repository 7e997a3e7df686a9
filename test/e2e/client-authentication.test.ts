// Every way a client proves who it is, against the emulator: client_secret_post and
// client_secret_basic, private_key_jwt with a certificate (RS256, PS256, x5c), an external
// assertion read from a file for every request, rotation of a secret and of a certificate
// with invalid_client in between, rejected assertions, and tokenParameters in the form and key.
import { expect } from 'chai';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT, decodeJwt, decodeProtectedHeader, importPKCS8 } from 'jose';
import { AadBackendAuthError, createTokenProvider, MemoryTokenCache, type TokenProvider, type TokenProviderOptions } from '../../lib/index.js';
import { DEFAULT_TENANT_ID, startEntraEmulator, type EntraEmulator, type RecordedRequest } from '../../lib/testing/index.js';
import { makeCertificate, type TestCertificate } from '../helpers/certificates.js';
import { startStack, type Stack } from '../helpers/setup.js';

const CLIENT_ID = '6c1f2e3d-4b5a-4c7d-8e9f-0a1b2c3d4e5f';
const CERT_CLIENT_ID = '7d2e3f4a-5b6c-4d7e-8f9a-0b1c2d3e4f5a';
/** Characters RFC 6749 §2.3.1 form-encoding must handle: `:` splits Basic, `%` and `+` decode, `~` and space differ between encoders. */
const AWKWARD_SECRET = 'se:cr%et~with+plus and space/=';

describe('client authentication against the emulator', () => {
  let idp: EntraEmulator;
  let registered: TestCertificate;
  let other: TestCertificate;
  const providers: TokenProvider[] = [];

  before(async () => {
    [registered, other] = await Promise.all([makeCertificate('registered client'), makeCertificate('someone else')]);
    idp = await startEntraEmulator({
      clients: [
        { clientId: CLIENT_ID, clientSecret: AWKWARD_SECRET },
        { clientId: CERT_CLIENT_ID, certificate: registered.certificate },
      ],
    });
  });
  afterEach(async () => {
    await Promise.all(providers.splice(0).map((p) => p.close()));
    idp.reset();
  });
  after(() => idp.close());

  function provider(options: Partial<TokenProviderOptions>): TokenProvider {
    const created = createTokenProvider({
      tenantId: DEFAULT_TENANT_ID,
      clientId: CLIENT_ID,
      authorityHost: idp.url,
      resource: 'api://orders',
      cache: new MemoryTokenCache(),
      failureCooldownMs: 0,
      timeoutMs: 2000,
      ...options,
    } as TokenProviderOptions);
    providers.push(created);
    return created;
  }

  const certProvider = (options: Partial<TokenProviderOptions>): TokenProvider => provider({ clientId: CERT_CLIENT_ID, ...options });

  async function rejection(p: TokenProvider): Promise<AadBackendAuthError> {
    const error: unknown = await p.getToken().then(() => expect.fail('a token was issued'), (e: unknown) => e);
    expect(error).to.be.instanceOf(AadBackendAuthError);
    return error as AadBackendAuthError;
  }

  const last = (): RecordedRequest => idp.tokenRequests.at(-1)!;

  describe('client secrets', () => {
    it('client_secret_post (the default): the secret in the form, no Authorization header', async () => {
      const { token } = await provider({ clientSecret: AWKWARD_SECRET }).getToken();
      expect(idp.isIssued(token)?.clientId).to.equal(CLIENT_ID);
      expect(last().form).to.include({ client_id: CLIENT_ID, client_secret: AWKWARD_SECRET });
      expect(last().headers.authorization).to.equal(undefined);
    });

    it('client_secret_basic: id and secret form-encoded, then base64, and neither in the form', async () => {
      const { token } = await provider({ clientSecret: AWKWARD_SECRET, clientAuthentication: 'client_secret_basic' }).getToken();
      expect(idp.isIssued(token)?.clientId).to.equal(CLIENT_ID);
      const header = last().headers.authorization!;
      const decoded = Buffer.from(header.replace(/^Basic /, ''), 'base64').toString('utf8');
      expect(decoded).to.equal(`${CLIENT_ID}:se%3Acr%25et%7Ewith%2Bplus+and+space%2F%3D`);
      expect(last().form).to.not.have.any.keys('client_secret', 'client_id', 'client_assertion');
    });

    it('client_secret_basic with the wrong secret: the real AADSTS7000215, as a 502 rejection', async () => {
      const error = await rejection(provider({ clientSecret: `${AWKWARD_SECRET}x`, clientAuthentication: 'client_secret_basic' }));
      expect(error.code).to.equal('ERR_IDP_REJECTED');
      expect(error.oauth).to.include({ error: 'invalid_client', aadsts: 'AADSTS7000215' });
    });

    it('through the gateway: the Basic-authenticated token reaches the backend', async () => {
      const stack: Stack = await startStack({
        emulator: { clients: [{ clientId: CLIENT_ID, clientSecret: AWKWARD_SECRET }] },
        auth: { clientId: CLIENT_ID, clientSecret: AWKWARD_SECRET, clientAuthentication: 'client_secret_basic' },
      });
      try {
        const answer = await fetch(`${stack.gateway.url}/api/x`, { headers: { authorization: 'Basic c2hvdWxkLW5vdDpsZWFr' } });
        expect(answer.status).to.equal(200);
        const forwarded = stack.backend.received[0]!.headers.authorization!;
        expect(stack.idp.isIssued(forwarded.replace(/^Bearer /, ''))?.clientId).to.equal(CLIENT_ID);
        expect(stack.idp.tokenRequests[0]!.headers.authorization).to.match(/^Basic /);
      } finally {
        await stack.close();
      }
    });
  });

  describe('private_key_jwt with clientCertificate', () => {
    it('RS256 by default: a fresh assertion per request with iss = sub = client id, aud = endpoint, unique jti, x5t#S256', async () => {
      const p = certProvider({ clientCertificate: registered });
      const first = await p.getToken();
      p.invalidate();
      const second = await p.getToken();
      expect(idp.isIssued(first.token)?.clientId).to.equal(CERT_CLIENT_ID);
      expect(idp.isIssued(second.token)?.clientId).to.equal(CERT_CLIENT_ID);
      const [a, b] = idp.tokenRequests.map((r) => r.form);
      expect(a).to.include({ client_id: CERT_CLIENT_ID, client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer' });
      expect(a).to.not.have.property('client_secret');
      const header = decodeProtectedHeader(a!.client_assertion!);
      const thumbprint = Buffer.from(new X509Certificate(registered.certificate).fingerprint256.replaceAll(':', ''), 'hex').toString('base64url');
      expect(header).to.include({ alg: 'RS256', typ: 'JWT', 'x5t#S256': thumbprint });
      expect(header).to.not.have.property('x5c');
      const claims = decodeJwt(a!.client_assertion!);
      expect(claims).to.include({ iss: CERT_CLIENT_ID, sub: CERT_CLIENT_ID, aud: idp.tokenUrl(DEFAULT_TENANT_ID) });
      expect(claims.exp! - claims.iat!).to.be.above(0).and.at.most(600);
      expect(claims.jti).to.be.a('string').and.not.equal(decodeJwt(b!.client_assertion!).jti);
      expect(b!.client_assertion).to.not.equal(a!.client_assertion);
    });

    it('PS256 with sendCertificateChain: the x5c header carries the certificate', async () => {
      const { token } = await certProvider({ clientCertificate: { ...registered, algorithm: 'PS256', sendCertificateChain: true } }).getToken();
      expect(idp.isIssued(token)).to.not.equal(undefined);
      const header = decodeProtectedHeader(last().form.client_assertion!);
      expect(header.alg).to.equal('PS256');
      expect(header.x5c).to.deep.equal([new X509Certificate(registered.certificate).raw.toString('base64')]);
    });

    it('an unregistered certificate is rejected with AADSTS700027', async () => {
      const error = await rejection(certProvider({ clientCertificate: other }));
      expect(error.status).to.equal(502);
      expect(error.oauth).to.include({ error: 'invalid_client', aadsts: 'AADSTS700027' });
      expect(idp.issued).to.have.length(0);
    });
  });

  describe('clientAssertion (workload identity)', () => {
    let dir: string;
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'aad-federated-'));
    });
    after(() => rm(dir, { recursive: true, force: true }));

    /** What the kubelet would write to AZURE_FEDERATED_TOKEN_FILE: here, an assertion signed with the registered key. */
    async function assertion(overrides: { aud?: string; jti?: string; expiresIn?: number } = {}): Promise<string> {
      const key = await importPKCS8(registered.privateKey, 'RS256');
      const thumbprint = Buffer.from(new X509Certificate(registered.certificate).fingerprint256.replaceAll(':', ''), 'hex').toString('base64url');
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({})
        .setProtectedHeader({ alg: 'RS256', 'x5t#S256': thumbprint })
        .setIssuer(CERT_CLIENT_ID)
        .setSubject(CERT_CLIENT_ID)
        .setAudience(overrides.aud ?? idp.tokenUrl(DEFAULT_TENANT_ID))
        .setJti(overrides.jti ?? crypto.randomUUID())
        .setIssuedAt(now)
        .setExpirationTime(now + (overrides.expiresIn ?? 300))
        .sign(key);
    }

    it('reads the token file again for every token request, and sends it as a jwt-bearer client_assertion', async () => {
      const file = join(dir, 'azure-identity-token');
      let reads = 0;
      const p = certProvider({ clientAssertion: () => (reads++, readFile(file, 'utf8')) });
      await writeFile(file, `${await assertion()}\n`);
      const first = await p.getToken();
      p.invalidate();
      const rotated = await assertion();
      await writeFile(file, rotated);
      const second = await p.getToken();
      expect(reads).to.equal(2);
      expect(idp.isIssued(first.token)?.clientId).to.equal(CERT_CLIENT_ID);
      expect(idp.isIssued(second.token)?.clientId).to.equal(CERT_CLIENT_ID);
      expect(last().form).to.include({ client_assertion: rotated, client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer' });
    });

    it('rejected assertions: wrong audience, lifetime beyond 10 minutes (AADSTS700027); a reused one is accepted until its exp, as Entra does', async () => {
      for (const bad of [await assertion({ aud: 'https://elsewhere.example/token' }), await assertion({ expiresIn: 3600 })]) {
        const error = await rejection(certProvider({ clientAssertion: () => bad }));
        expect(error.oauth).to.include({ error: 'invalid_client', aadsts: 'AADSTS700027' });
      }
      const once = await assertion();
      const p = certProvider({ clientAssertion: () => once });
      const first = await p.getToken();
      p.invalidate();
      const second = await p.getToken();
      expect(second.token).to.not.equal(first.token);
      expect(idp.isIssued(second.token)?.clientId).to.equal(CERT_CLIENT_ID);
    });

    it('a function that throws is a 503 that names the option, not the thrown text', async () => {
      const error = await rejection(certProvider({ clientAssertion: () => Promise.reject(new Error('vault said SECRET-XYZ')) }));
      expect(error).to.include({ code: 'ERR_SECRET_UNAVAILABLE', status: 503 });
      expect(error.message).to.include('clientAssertion').and.not.include('SECRET-XYZ');
      expect(idp.tokenRequests).to.have.length(0);
    });
  });

  describe('rotation: invalid_client in between costs no outage', () => {
    it('a secret rotated at the IdP: the stale read fails, the re-read succeeds within the same getToken()', async () => {
      idp.rotateClientSecret(CLIENT_ID, 'secret-v1');
      const reads = ['secret-v1', 'secret-v1', 'secret-v2'];
      let calls = 0;
      const p = provider({ clientSecret: () => reads[Math.min(calls++, reads.length - 1)]!, clientAuthentication: 'client_secret_basic' });
      const errors: unknown[] = [];
      p.on('error', (e) => errors.push(e));
      await p.getToken();
      idp.rotateClientSecret(CLIENT_ID, 'secret-v2');
      p.invalidate();
      const { token } = await p.getToken();
      expect(idp.isIssued(token)?.clientId).to.equal(CLIENT_ID);
      expect(calls).to.equal(3);
      expect(errors).to.deep.equal([]);
      const answers = idp.tokenRequests.map((r) => Buffer.from(r.headers.authorization!.slice(6), 'base64').toString().split(':')[1]);
      expect(answers).to.deep.equal(['secret-v1', 'secret-v1', 'secret-v2']);
      idp.rotateClientSecret(CLIENT_ID, AWKWARD_SECRET);
    });

    it('an unchanged secret is not retried: one request, the AADSTS7000215 rejection', async () => {
      let calls = 0;
      const error = await rejection(provider({ clientSecret: () => (calls++, 'wrong-and-unchanged') }));
      expect(error.oauth?.aadsts).to.equal('AADSTS7000215');
      expect(calls).to.equal(2);
      expect(idp.tokenRequests).to.have.length(1);
    });

    it('a certificate function: the old certificate is refused, the rotated one re-read and used at once', async () => {
      const reads = [other, registered];
      let calls = 0;
      const { token } = await certProvider({ clientCertificate: async () => reads[Math.min(calls++, 1)]! }).getToken();
      expect(idp.isIssued(token)?.clientId).to.equal(CERT_CLIENT_ID);
      expect(idp.tokenRequests).to.have.length(2);
      const thumbprints = idp.tokenRequests.map((r) => decodeProtectedHeader(r.form.client_assertion!)['x5t#S256']);
      const of = (c: TestCertificate): string => Buffer.from(new X509Certificate(c.certificate).fingerprint256.replaceAll(':', ''), 'hex').toString('base64url');
      expect(thumbprints).to.deep.equal([of(other), of(registered)]);
      expect(calls).to.equal(2);
    });
  });

  describe('tokenParameters', () => {
    it('are sent with the grant, and are part of the cache key', async () => {
      const cache = new MemoryTokenCache();
      const audience = (value: string): TokenProvider => provider({ clientSecret: AWKWARD_SECRET, cache, tokenParameters: { audience: value, extra: 'x y' } });
      const a1 = await audience('https://a.example').getToken();
      const a2 = await audience('https://a.example').getToken();
      const b = await audience('https://b.example').getToken();
      expect(a2.token).to.equal(a1.token);
      expect(b.token).to.not.equal(a1.token);
      expect(idp.tokenRequests.map((r) => r.form.audience)).to.deep.equal(['https://a.example', 'https://b.example']);
      expect(idp.tokenRequests[0]!.form).to.include({ extra: 'x y', scope: 'api://orders/.default', grant_type: 'client_credentials' });
    });
  });
});
