// The leak test (leaks.test.ts) for the newer credentials: a certificate's private key, the
// client assertions made from it or handed in, and the Basic header. Failing and succeeding
// flows run with verbose logging (a capturing logger and the `debug` module), a hostile IdP
// echoes what it was sent, and every log line, error message, stack, util.inspect and JSON
// is searched for the material.
import { expect } from 'chai';
import { createTokenProvider, MemoryTokenCache, type TokenProvider, type TokenProviderOptions } from '../../lib/index.js';
import { basicAuthorization } from '../../lib/grants/client-authentication.js';
import { DEFAULT_TENANT_ID, startEntraEmulator, type EntraEmulator } from '../../lib/testing/index.js';
import { makeCertificate, type TestCertificate } from '../helpers/certificates.js';
import { captureArtefact, captureDebugOutput } from '../helpers/leak-capture.js';

const CLIENT_ID = '9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b';
const SENTINEL = 'SENTINEL:secret%9f2b~basic';

describe('nothing leaks: private keys, client assertions and the Basic header', () => {
  let idp: EntraEmulator;
  let registered: TestCertificate;
  let stranger: TestCertificate;
  const lines: string[] = [];
  const artefacts: string[] = [];
  let restoreDebug: () => void = () => undefined;

  before(async () => {
    [registered, stranger] = await Promise.all([makeCertificate('leak client'), makeCertificate('leak stranger')]);
    idp = await startEntraEmulator({ clients: [{ clientId: CLIENT_ID, clientSecret: SENTINEL, certificate: registered.certificate }] });
    restoreDebug = captureDebugOutput(lines);
  });
  after(async () => {
    restoreDebug();
    await idp.close();
  });

  const capture = (value: unknown, label: string): void => captureArtefact(artefacts, value, label);

  /** Runs one flow, captures everything it shows, and returns the provider's result. */
  async function flow(options: Partial<TokenProviderOptions>): Promise<'token' | 'error'> {
    const provider: TokenProvider = createTokenProvider({
      tenantId: DEFAULT_TENANT_ID,
      clientId: CLIENT_ID,
      authorityHost: idp.url,
      resource: 'api://leaks',
      cache: new MemoryTokenCache(),
      failureCooldownMs: 0,
      timeoutMs: 400,
      logger: { debug: (l) => lines.push(l), info: (l) => lines.push(l), warn: (l) => lines.push(l), error: (l) => lines.push(l) },
      ...options,
    } as TokenProviderOptions);
    provider.on('error', (e) => capture(e, 'error event'));
    let result: 'token' | 'error';
    try {
      capture(await provider.getToken(), 'token');
      result = 'token';
    } catch (error) {
      capture(error, 'getToken error');
      result = 'error';
    }
    capture(provider, 'provider');
    capture(provider.stats(), 'stats');
    await provider.close();
    return result;
  }

  /** The private keys' bodies, the Basic values, and every assertion the emulator received (and its signature). */
  function forbidden(): string[] {
    const keyLines = [registered, stranger].flatMap((c) => c.privateKey.split('\n').filter((line) => line.length >= 40));
    const assertions = idp.tokenRequests.map((r) => r.form.client_assertion).filter((a): a is string => a !== undefined);
    const basics = [basicAuthorization(CLIENT_ID, SENTINEL), basicAuthorization(CLIENT_ID, `${SENTINEL}-wrong`)].map((b) => b.slice(6));
    const tokens = idp.issued.map((t) => t.token);
    return [SENTINEL, encodeURIComponent(SENTINEL), ...keyLines, ...basics, ...assertions, ...assertions.map((a) => a.split('.')[2]!), ...tokens];
  }

  function expectNoLeak(): void {
    const haystack = [...lines, ...artefacts];
    expect(haystack.length).to.be.above(5);
    for (const needle of forbidden()) {
      const hit = haystack.find((text) => text.includes(needle));
      expect(hit, `"${needle.slice(0, 24)}…" leaked in:\n${hit}\n`).to.equal(undefined);
    }
  }

  it('client_secret_basic: a success, a wrong secret, and an IdP echoing the Basic header and the secret', async () => {
    expect(await flow({ clientSecret: SENTINEL, clientAuthentication: 'client_secret_basic' })).to.equal('token');
    expect(await flow({ clientSecret: `${SENTINEL}-wrong`, clientAuthentication: 'client_secret_basic' })).to.equal('error');
    const basic = basicAuthorization(CLIENT_ID, SENTINEL);
    const echo = `${basic} ${basic.slice(6)} ${SENTINEL} ${encodeURIComponent(SENTINEL)}`;
    idp.fail({ kind: 'status', status: 401, body: JSON.stringify({ error: 'invalid_client', error_description: `AADSTS7000215: got ${echo}`, trace_id: echo, correlation_id: echo }) });
    expect(await flow({ clientSecret: SENTINEL, clientAuthentication: 'client_secret_basic' })).to.equal('error');
    expect(lines.join('\n')).to.include('AADSTS7000215').and.include('[REDACTED]');
    expectNoLeak();
  });

  it('clientCertificate: a success, an unregistered certificate, a broken key from a function, and an IdP echoing the assertion', async () => {
    expect(await flow({ clientCertificate: registered })).to.equal('token');
    expect(await flow({ clientCertificate: stranger })).to.equal('error');
    const brokenKey = { privateKey: registered.privateKey.replace(/\n[A-Za-z0-9+/]{10}/, '\nAAAAAAAAAA'), certificate: registered.certificate };
    expect(await flow({ clientCertificate: () => brokenKey })).to.equal('error');
    // A fresh assertion cannot be known in advance to echo (the clientAssertion case echoes one); here the IdP refuses with an empty body.
    idp.fail({ kind: 'status', status: 400, body: '{}' });
    expect(await flow({ clientCertificate: registered })).to.equal('error');
    expectNoLeak();
  });

  it('clientAssertion: a rejected assertion, and an IdP echoing it in every field', async () => {
    const assertion = `${Buffer.from('{"alg":"RS256"}').toString('base64url')}.${Buffer.from(`{"sub":"${CLIENT_ID}"}`).toString('base64url')}.c2lnbmF0dXJlLW9mLXRoZS1mZWRlcmF0ZWQtdG9rZW4`;
    expect(await flow({ clientAssertion: () => assertion })).to.equal('error');
    idp.fail({ kind: 'status', status: 401, body: JSON.stringify({ error: `invalid_client ${assertion}`, error_description: `AADSTS700027: ${assertion}`, trace_id: assertion }) });
    expect(await flow({ clientAssertion: () => assertion })).to.equal('error');
    expect(idp.tokenRequests.at(-1)!.form.client_assertion).to.equal(assertion);
    expect(lines.join('\n')).to.include('AADSTS700027');
    expectNoLeak();
  });
});
