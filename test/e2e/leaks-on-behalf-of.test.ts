// The leak test for aadOnBehalfOf with issue 13's credentials: the user's token, a certificate's
// private key, the client assertions made from it or handed in, the Basic header and the secret.
// Exchanges succeed and fail through the gateway and through tokenProvider.getToken() with
// verbose logging (a capturing logger and the `debug` module); a hostile IdP echoes the user's
// token and the credential in every field, even inside a claims challenge; every log line,
// error message, stack, util.inspect, JSON, client answer and challenge header is searched.
import { expect } from 'chai';
import type { IncomingMessage } from 'node:http';
import { aadOnBehalfOf, type AadOnBehalfOfOptions } from '../../lib/index.js';
import { basicAuthorization } from '../../lib/grants/client-authentication.js';
import { DEFAULT_TENANT_ID, startEntraEmulator, type EntraEmulator, type Fault } from '../../lib/testing/index.js';
import { makeCertificate, type TestCertificate } from '../helpers/certificates.js';
import { startGateway } from '../helpers/gateway.js';
import { ORDERS_SCOPE } from '../helpers/on-behalf-of.js';
import { startBackend, type Backend } from '../helpers/servers.js';
import { captureArtefact, captureDebugOutput } from '../helpers/leak-capture.js';

const CLIENT_ID = '5d6e7f80-91a2-4c3d-8e4f-5a6b7c8d9e0f';
const SENTINEL = 'SENTINEL:obo%secret~basic';

describe('nothing leaks from aadOnBehalfOf: user tokens, private keys, client assertions and the Basic header', () => {
  let idp: EntraEmulator;
  let backend: Backend;
  let registered: TestCertificate;
  let stranger: TestCertificate;
  const lines: string[] = [];
  const artefacts: string[] = [];
  const userTokens: string[] = [];
  let restoreDebug: () => void = () => undefined;

  before(async () => {
    [registered, stranger] = await Promise.all([makeCertificate('obo leak client'), makeCertificate('obo leak stranger')]);
    idp = await startEntraEmulator({ clients: [{ clientId: CLIENT_ID, clientSecret: SENTINEL, certificate: registered.certificate, accessTokenVersion: 2 }] });
    backend = await startBackend();
    restoreDebug = captureDebugOutput(lines);
  });
  after(async () => {
    restoreDebug();
    await backend.close();
    await idp.close();
  });

  const capture = (value: unknown, label: string): void => captureArtefact(artefacts, value, label);

  async function userToken(): Promise<string> {
    const token = await idp.issueUserToken({ aud: `api://${CLIENT_ID}`, oid: `leak-${userTokens.length}` });
    userTokens.push(token);
    return token;
  }

  /**
   * One user through the gateway, then another through getToken(), each after `fault` (if any);
   * captures what the client, the logs, the errors and the objects show. Returns the HTTP status.
   */
  async function flow(options: Partial<AadOnBehalfOfOptions>, fault?: (user: string) => Fault): Promise<number> {
    const auth = aadOnBehalfOf({
      tenantId: DEFAULT_TENANT_ID,
      clientId: CLIENT_ID,
      authorityHost: idp.url,
      scope: ORDERS_SCOPE,
      timeoutMs: 400,
      logger: { debug: (l) => lines.push(l), info: (l) => lines.push(l), warn: (l) => lines.push(l), error: (l) => lines.push(l) },
      ...options,
    } as AadOnBehalfOfOptions);
    auth.tokenProvider.on('error', (e) => capture(e, 'error event'));
    const gateway = await startGateway([{ path: '/api', auth, target: backend.url }]);
    try {
      const first = await userToken();
      if (fault !== undefined) idp.fail(fault(first));
      const res = await fetch(`${gateway.url}/api/me`, { headers: { authorization: `Bearer ${first}` } });
      artefacts.push(`answer: ${res.status} ${JSON.stringify([...res.headers])} ${await res.text()}`);
      const second = await userToken();
      if (fault !== undefined) idp.fail(fault(second));
      try {
        capture(await auth.tokenProvider.getToken({ headers: { authorization: `Bearer ${second}` } } as IncomingMessage), 'token');
      } catch (error) {
        capture(error, 'getToken error');
      }
      capture(auth, 'middleware');
      capture(auth.tokenProvider, 'provider');
      capture(auth.tokenProvider.stats(), 'stats');
      return res.status;
    } finally {
      await auth.tokenProvider.close();
      await gateway.close();
    }
  }

  /** Every user token and its signature, the private keys' bodies, the Basic values, the secret, every assertion sent, every exchanged token. */
  function forbidden(): string[] {
    const signature = (jwt: string): string => jwt.slice(jwt.lastIndexOf('.') + 1);
    const keyLines = [registered, stranger].flatMap((c) => c.privateKey.split('\n').filter((line) => line.length >= 40));
    const assertions = idp.tokenRequests.map((r) => r.form.client_assertion).filter((a): a is string => a !== undefined);
    const basics = [basicAuthorization(CLIENT_ID, SENTINEL)].map((b) => b.slice(6));
    const exchanged = idp.issued.map((t) => t.token);
    return [SENTINEL, encodeURIComponent(SENTINEL), ...keyLines, ...basics, ...userTokens, ...userTokens.map(signature), ...assertions, ...assertions.map(signature), ...exchanged];
  }

  function expectNoLeak(): void {
    const haystack = [...lines, ...artefacts];
    expect(haystack.length).to.be.above(5);
    expect(userTokens.length).to.be.above(1);
    for (const needle of forbidden()) {
      const hit = haystack.find((text) => text.includes(needle));
      expect(hit, `"${needle.slice(0, 24)}…" leaked in:\n${hit}\n`).to.equal(undefined);
    }
  }

  /** An IdP answer that quotes everything it was sent. */
  const echo = (status: number, error: string, quoted: string): Fault => ({
    kind: 'status',
    status,
    body: JSON.stringify({ error, error_description: `AADSTS50013: got ${quoted}`, error_codes: [50013], trace_id: quoted, correlation_id: quoted }),
  });

  it('clientCertificate: a success, an unregistered certificate, an echo of the user token, and a claims challenge quoting it', async () => {
    expect(await flow({ clientCertificate: registered })).to.equal(200);
    expect(await flow({ clientCertificate: stranger })).to.equal(502);
    expect(await flow({ clientCertificate: registered }, (user) => echo(400, 'invalid_grant', `${user} ${user.slice(user.lastIndexOf('.') + 1)}`))).to.equal(502);
    const challenge = (user: string): Fault => ({ kind: 'interaction-required', claims: { access_token: { echo: { essential: true, values: [user] } } } });
    expect(await flow({ clientCertificate: registered }, challenge)).to.equal(401);
    expect(artefacts.join('\n')).to.include('insufficient_claims').and.include('AADSTS50013');
    expectNoLeak();
  });

  it('client_secret_basic: an IdP echoing the Basic header, the secret and the user token', async () => {
    const basic = basicAuthorization(CLIENT_ID, SENTINEL);
    const quoted = (user: string): string => `${basic} ${basic.slice(6)} ${SENTINEL} ${encodeURIComponent(SENTINEL)} ${user}`;
    expect(await flow({ clientSecret: SENTINEL, clientAuthentication: 'client_secret_basic' })).to.equal(200);
    expect(await flow({ clientSecret: () => SENTINEL, clientAuthentication: 'client_secret_basic' }, (user) => echo(401, 'invalid_client', quoted(user)))).to.equal(502);
    expect(lines.join('\n')).to.include('[REDACTED]');
    expectNoLeak();
  });

  it('clientAssertion: an IdP echoing the assertion and the user token in every field', async () => {
    const assertion = `${Buffer.from('{"alg":"RS256"}').toString('base64url')}.${Buffer.from(`{"sub":"${CLIENT_ID}"}`).toString('base64url')}.c2lnbmF0dXJlLW9mLWFuLW9iby1hc3NlcnRpb24`;
    expect(await flow({ clientAssertion: () => assertion })).to.equal(502);
    expect(await flow({ clientAssertion: () => assertion }, (user) => echo(400, `invalid_grant ${user}`, `${assertion} ${user}`))).to.equal(502);
    expect(idp.tokenRequests.at(-1)!.form.client_assertion).to.equal(assertion);
    expectNoLeak();
  });
});
