// Nothing of a cookie session's tokens leaks from aadUserToken: refresh tokens (the one redeemed and
// the rotated one), access tokens and the client secret never show in log lines (a capturing logger
// and the `debug` module), errors, stacks, util.inspect, JSON, client answers or challenge headers,
// even when a hostile IdP quotes the refresh token in every field of its answer.
import { expect } from 'chai';
import type { IncomingMessage } from 'node:http';
import { aadUserToken } from '../../lib/adapters/user-token.js';
import type { AadUserTokenOptions } from '../../lib/options/user-token-types.js';
import { startGateway } from '../helpers/gateway.js';
import { captureArtefact, captureDebugOutput } from '../helpers/leak-capture.js';
import { IDP_CLIENT_SECRET, startRefreshIdp, type RefreshIdp } from '../helpers/refresh-idp.js';
import { startBackend, type Backend } from '../helpers/servers.js';
import { testSessions } from '../helpers/session-store.js';

describe('nothing leaks from aadUserToken: refresh tokens, access tokens and the secret', () => {
  let idp: RefreshIdp;
  let backend: Backend;
  const lines: string[] = [];
  const artefacts: string[] = [];
  let restoreDebug: () => void = () => undefined;

  before(async () => {
    idp = await startRefreshIdp();
    backend = await startBackend();
    restoreDebug = captureDebugOutput(lines);
  });
  after(async () => {
    restoreDebug();
    await backend.close();
    await idp.close();
  });

  const capture = (value: unknown, label: string): void => captureArtefact(artefacts, value, label);
  const logger = { debug: (l: string) => lines.push(l), info: (l: string) => lines.push(l), warn: (l: string) => lines.push(l), error: (l: string) => lines.push(l) };

  /** One request through the gateway and one through tokenProvider.getToken(), each after `prepare` (if any). */
  async function flow(prepare?: (refreshToken: string) => void, options: Partial<AadUserTokenOptions> = {}): Promise<number> {
    const sessions = testSessions();
    const auth = aadUserToken(idp.userTokenOptions(sessions, { logger, timeoutMs: 400, ...options }));
    auth.tokenProvider.on('error', (e) => capture(e, 'error event'));
    const gateway = await startGateway([{ path: '/api', auth, target: backend.url }]);
    try {
      const first = idp.signIn('leaky');
      sessions.store.set('a', { ...first, expiresAt: Date.now() - 1 });
      prepare?.(first.refreshToken);
      const res = await fetch(`${gateway.url}/api/me`, { headers: { 'x-session': 'a', 'x-csrf': '1' } });
      artefacts.push(`answer: ${res.status} ${JSON.stringify([...res.headers])} ${await res.text()}`);
      const second = idp.signIn('leaky');
      sessions.store.set('b', { refreshToken: second.refreshToken });
      prepare?.(second.refreshToken);
      try {
        capture(await auth.tokenProvider.getToken({ headers: { 'x-session': 'b', 'x-csrf': '1' } } as unknown as IncomingMessage), 'token');
      } catch (error) {
        capture(error, 'getToken error');
      }
      capture(auth, 'middleware');
      capture(auth.tokenProvider, 'provider');
      capture(auth.tokenProvider.stats(), 'stats');
      capture(auth.tokenProvider.health(), 'health');
      return res.status;
    } finally {
      await auth.tokenProvider.close();
      await gateway.close();
    }
  }

  function expectNoLeak(): void {
    const haystack = [...lines, ...artefacts];
    expect(haystack.length).to.be.above(5);
    const forbidden = [IDP_CLIENT_SECRET, ...idp.minted, ...idp.minted.map(encodeURIComponent), ...idp.issued.map((t) => t.token)];
    expect(idp.minted.length).to.be.above(2);
    for (const needle of forbidden) {
      const hit = haystack.find((text) => text.includes(needle));
      expect(hit, `"${needle.slice(0, 12)}…" leaked in:\n${hit}\n`).to.equal(undefined);
    }
  }

  const quoting = (error: string, refreshToken: string, extra: Record<string, unknown> = {}) => ({
    error,
    error_description: `AADSTS50013: got ${refreshToken} ${IDP_CLIENT_SECRET}`,
    error_codes: [50013],
    trace_id: refreshToken,
    correlation_id: refreshToken,
    ...extra,
  });

  it('a rotation, an IdP quoting the refresh token, an invalid_grant quoting it, and a claims challenge quoting it', async () => {
    expect(await flow()).to.equal(200);
    expect(await flow((rt) => idp.rejectNext(quoting('invalid_request', rt)))).to.equal(502);
    expect(await flow((rt) => idp.rejectNext(quoting(`invalid_grant ${rt}`, rt)))).to.equal(502);
    expect(await flow((rt) => idp.rejectNext(quoting('invalid_grant', rt)))).to.equal(401);
    const claims = (rt: string) => JSON.stringify({ access_token: { echo: { essential: true, values: [rt] } } });
    expect(await flow((rt) => idp.rejectNext(quoting('interaction_required', rt, { claims: claims(rt) })))).to.equal(401);
    const all = artefacts.join('\n');
    expect(all).to.include('ERR_USER_SESSION_EXPIRED').and.include('ERR_USER_INTERACTION_REQUIRED').and.include('[REDACTED]');
    expectNoLeak();
  });

  it('an outage and a refresh token sent with every request', async () => {
    expect(await flow((rt) => void rt, { antiForgery: false })).to.equal(200);
    idp.failNext(50, 503);
    expect(await flow()).to.equal(503);
    idp.failNext(0);
    expectNoLeak();
  });
});
