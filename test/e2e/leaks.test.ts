// Proof that nothing leaks: representative flows run with a sentinel secret and verbose logging
// (a capturing logger, and the `debug` module), and every log line, error message, stack,
// util.inspect and JSON of errors, middleware, provider, token and stats is searched for the
// sentinel and for every token issued. The operator's line for a rejection must still carry
// the AADSTS code and the correlation id.
import type { AccessToken as AzureAccessToken, GetTokenOptions, TokenCredential } from '@azure/identity';
import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { createTokenProvider, type AadBackendAuthOptions } from '../../lib/index.js';
import { MemoryTokenCache } from '../../lib/provider/memory-cache.js';
import { DEFAULT_CLIENT_ID, startEntraEmulator, type EntraEmulator, type Fault } from '../../lib/testing/index.js';
import { startRig, type Answer, type Rig } from '../helpers/fault-rig.js';
import { refusedPort, startRecordingServer, type RecordingServer } from '../helpers/hostile-servers.js';
import { watchProcess } from '../helpers/process-watch.js';
import { captureArtefact, captureDebugOutput } from '../helpers/leak-capture.js';

const SENTINEL = 'SENTINEL-SECRET-9f2b';
const GUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/;
type Mode = 'logger' | 'debug';

/** Everything an operator or an attacker with log access could read. */
const lines: string[] = [];
const artefacts: string[] = [];
/** Tokens from earlier flows (emulators are reset between flows) and from test credentials. */
const otherTokens: string[] = [];
/** Where the current flow's lines and artefacts start: each flow is checked on its own, then all together. */
let flowStart = 0;
let artefactStart = 0;

const capture = (value: unknown, label: string): void => captureArtefact(artefacts, value, label);

function captureAnswer(answer: Answer, label: string): void {
  artefacts.push(`${label} status ${answer.status} headers ${JSON.stringify([...answer.headers])} body ${answer.text}`);
}

/** The middleware, its provider, a token (or the error instead), stats, and every event seen. */
async function captureRig(rig: Rig, events: unknown[]): Promise<void> {
  const provider = rig.auth.tokenProvider;
  capture(rig.auth, 'middleware');
  capture(Object.getOwnPropertyNames(rig.auth).map((name) => [name, (rig.auth as unknown as Record<string, unknown>)[name]]), 'middleware properties');
  capture(provider, 'provider');
  capture(provider.stats(), 'stats');
  capture(provider.peek(), 'peek');
  try {
    capture(await provider.getToken(), 'getToken');
  } catch (error) {
    capture(error, 'getToken error');
  }
  events.forEach((event, i) => capture(event, `event ${i}`));
}

function forbidden(idps: readonly EntraEmulator[]): string[] {
  const tokens = [...idps.flatMap((idp) => idp.issued.map((t) => t.token)), ...otherTokens];
  // The signature alone is unique to a token; a truncated token in a log would still show it.
  return [SENTINEL, ...tokens, ...tokens.map((t) => t.split('.').at(-1)!).filter((s) => s.length >= 16)];
}

function expectNoLeak(idps: readonly EntraEmulator[], everything = false): void {
  const haystack = everything ? [...lines, ...artefacts] : [...lines.slice(flowStart), ...artefacts.slice(artefactStart)];
  for (const needle of forbidden(idps)) {
    const hit = haystack.find((text) => text.includes(needle));
    expect(hit, `"${needle.slice(0, 24)}…" leaked in:\n${hit}\n`).to.equal(undefined);
  }
}

describe('nothing leaks: sentinel secret, verbose logging, every artefact searched', () => {
  const watch = watchProcess();
  let idp: EntraEmulator;
  let shortIdp: EntraEmulator;
  let recorder: RecordingServer;
  let rig: Rig | undefined;
  let restoreDebug: () => void = () => undefined;
  const writes: { stream: NodeJS.WriteStream; write: NodeJS.WriteStream['write'] }[] = [];

  before(async () => {
    watch.install();
    const clients = [{ clientId: DEFAULT_CLIENT_ID, clientSecret: SENTINEL }];
    idp = await startEntraEmulator({ clients });
    shortIdp = await startEntraEmulator({ clients, tokenLifetimeSeconds: 3 });
    recorder = await startRecordingServer();
    restoreDebug = captureDebugOutput(lines);
    // Anything the package might print on its own goes through stdout or stderr.
    for (const stream of [process.stdout, process.stderr]) {
      const write = stream.write;
      writes.push({ stream, write });
      stream.write = function (this: NodeJS.WriteStream, chunk: unknown, ...rest: unknown[]) {
        lines.push(`${stream === process.stdout ? 'stdout' : 'stderr'}: ${String(chunk)}`);
        return (write as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
      } as NodeJS.WriteStream['write'];
    }
  });
  afterEach(async () => {
    await rig?.close();
    rig = undefined;
    otherTokens.push(...idp.issued.map((t) => t.token), ...shortIdp.issued.map((t) => t.token));
    idp.reset();
    shortIdp.reset();
    expect(await watch.take(), 'unhandled rejections or uncaught exceptions').to.deep.equal([]);
  });
  after(async () => {
    for (const { stream, write } of writes) stream.write = write;
    restoreDebug();
    await Promise.all([idp.close(), shortIdp.close(), recorder.close()]);
    watch.uninstall();
  });

  /** A rig whose secret is the sentinel; in `debug` mode the package's default logger is used. */
  async function leakRig(mode: Mode, auth: Partial<AadBackendAuthOptions> = {}, on: EntraEmulator = idp): Promise<{ rig: Rig; events: unknown[] }> {
    rig = await startRig(on, { auth: { clientSecret: SENTINEL, ...(mode === 'debug' && { logger: undefined }), ...auth } });
    const events: unknown[] = [];
    for (const name of ['token', 'refresh', 'error'] as const) rig.auth.tokenProvider.on(name, (event: unknown) => events.push(event));
    return { rig, events };
  }

  /** The log lines of this mode: the rig's own logger, or what the `debug` module printed. */
  function logOf(mode: Mode, current: Rig): string[] {
    return mode === 'logger' ? current.logs : lines.slice(flowStart).filter((line) => line.startsWith('debug module: '));
  }

  /** Runs a failing flow, captures everything, and checks it. */
  async function failingFlow(mode: Mode, fault: Fault | undefined, expected: number, auth: Partial<AadBackendAuthOptions> = {}): Promise<Rig> {
    const { rig: current, events } = await leakRig(mode, auth);
    if (fault !== undefined) idp.fail(fault, Infinity);
    const answer = await current.get();
    captureAnswer(answer, 'answer');
    expect(answer.status, answer.text).to.equal(expected);
    await captureRig(current, events);
    artefacts.push(...current.logs);
    expect(events.length, 'an error event was emitted').to.be.at.least(1);
    expectNoLeak([idp]);
    return current;
  }

  for (const mode of ['logger', 'debug'] as const) {
    describe(`logging through ${mode === 'logger' ? 'a capturing logger' : 'the debug module'}`, () => {
      beforeEach(() => {
        flowStart = lines.length;
        artefactStart = artefacts.length;
      });

      it('success, cache hit, and a backend 401 that evicts the token', async () => {
        const { rig: current, events } = await leakRig(mode);
        for (let i = 0; i < 2; i++) captureAnswer(await current.get(), 'answer');
        current.backend.respondWith(401);
        captureAnswer(await current.get(), 'answer 401');
        current.backend.respondWith(200);
        await sleep(20);
        captureAnswer(await current.get(), 'answer after eviction');
        expect(idp.issued).to.have.length(2);
        await captureRig(current, events);
        artefacts.push(...current.logs);
        expect(logOf(mode, current).join('\n')).to.match(/backend rejected the token/);
        expectNoLeak([idp]);
      });

      for (const error of ['invalid_client', 'invalid_scope', 'unauthorized_client', 'invalid_request', 'invalid_grant'] as const) {
        it(`OAuth rejection ${error}`, async () => {
          const current = await failingFlow(mode, { kind: 'oauth-error', error }, 502);
          expect(logOf(mode, current).join('\n')).to.match(/AADSTS\d+/).and.match(new RegExp(`correlation id ${GUID.source}`));
        });
      }

      it('a rejection logs the AADSTS code, trace id and correlation id the IdP sent', async () => {
        const correlationId = randomUUID();
        const traceId = randomUUID();
        const body = JSON.stringify({
          error: 'invalid_client',
          error_description: `AADSTS7000215: Invalid client secret provided. Trace ID: ${traceId} Correlation ID: ${correlationId} Timestamp: 2026-11-25 10:00:00Z`,
          error_codes: [7000215],
          trace_id: traceId,
          correlation_id: correlationId,
        });
        const current = await failingFlow(mode, { kind: 'status', status: 401, body }, 502);
        const line = logOf(mode, current).find((l) => /error/.test(l) && l.includes('ERR_IDP_REJECTED'));
        expect(line, logOf(mode, current).join('\n')).to.be.a('string');
        expect(line).to.include('AADSTS7000215').and.include(correlationId).and.include(traceId);
      });

      it('the wrong secret (the sentinel plus a suffix): a real AADSTS7000215', async () => {
        const current = await failingFlow(mode, undefined, 502, { clientSecret: `${SENTINEL}-wrong` });
        expect(logOf(mode, current).join('\n')).to.include('AADSTS7000215');
      });

      it('a hostile IdP that echoes the secret in every field of its error', async () => {
        const echo = `echo ${SENTINEL} echo`;
        const body = JSON.stringify({ error: echo, error_description: `AADSTS50000: ${echo}`, trace_id: echo, correlation_id: echo, error_codes: [50000] });
        const current = await failingFlow(mode, { kind: 'status', status: 400, body }, 502);
        expect(logOf(mode, current).join('\n')).to.include('AADSTS50000').and.include('[REDACTED]');
      });

      const malformed: [string, Fault][] = [
        ['an HTML page', { kind: 'html' }],
        ['broken JSON echoing the secret', { kind: 'body', body: `{"access_token":"${SENTINEL}` }],
        ['an access_token with CR/LF', { kind: 'body', body: { token_type: 'Bearer', expires_in: 3599, access_token: `${SENTINEL}\r\nX-Leak: 1` } }],
        ['a MAC token', { kind: 'body', body: { token_type: 'MAC', expires_in: 3599, access_token: `${SENTINEL}.mac` } }],
        ['a bad expires_in', { kind: 'body', body: { token_type: 'Bearer', expires_in: SENTINEL, access_token: `${SENTINEL}.exp` } }],
        ['a 5 MB body', { kind: 'huge' }],
        ['a body that is not gzip', { kind: 'status', status: 200, body: SENTINEL, headers: { 'content-encoding': 'gzip' } }],
      ];
      for (const [name, fault] of malformed) it(`malformed: ${name}`, () => failingFlow(mode, fault, 502));

      it('a 307 redirect: not followed, and the other server never sees the secret', async () => {
        await failingFlow(mode, { kind: 'redirect', status: 307, location: `${recorder.url}/oauth2/v2.0/token` }, 502);
        expect(recorder.calls).to.deep.equal([]);
      });

      const transient: [string, Fault][] = [
        ['500 echoing the secret', { kind: 'status', status: 500, body: `upstream said ${SENTINEL}` }],
        ['429', { kind: 'throttle', retryAfter: 1 }],
        ['reset', { kind: 'reset' }],
        ['reset mid-body', { kind: 'reset-mid-body' }],
        ['hang (timeout)', { kind: 'hang' }],
        ['drip (timeout)', { kind: 'drip', intervalMs: 100 }],
      ];
      for (const [name, fault] of transient) it(`unavailable: ${name}`, () => failingFlow(mode, fault, 503, { timeoutMs: 250 }));

      it('unavailable: connection refused', async () => {
        const port = await refusedPort();
        await failingFlow(mode, undefined, 503, { authorityHost: `http://127.0.0.1:${port}`, timeoutMs: 250 });
      });

      it('a background refresh that fails: the cached token is served, the failure logged', async () => {
        // Tokens live 3 s: usable until 2.7 s, refreshed from 1.5 s on; the refresh gives up after 0.4 s.
        const { rig: current, events } = await leakRig(mode, { timeoutMs: 400 }, shortIdp);
        expect((await current.get()).status).to.equal(200);
        await sleep(1600);
        shortIdp.fail({ kind: 'status', status: 500, body: SENTINEL }, Infinity);
        expect((await current.get()).status).to.equal(200);
        const until = Date.now() + 3000;
        while (!events.some((e) => e instanceof Error) && Date.now() < until) await sleep(20);
        expect(logOf(mode, current).join('\n')).to.match(/serving the cached token/);
        await captureRig(current, events);
        artefacts.push(...current.logs);
        expectNoLeak([idp, shortIdp]);
      });

      describe('a TokenCredential that puts the secret in its errors', () => {
        const credentialCases: [string, () => Promise<AzureAccessToken | null>, number][] = [
          ['a plain Error', () => Promise.reject(new Error(`token request failed for secret ${SENTINEL}`)), 503],
          ['a CredentialUnavailableError', () => Promise.reject(named('CredentialUnavailableError', `az returned: {"accessToken":"${SENTINEL}"}`)), 502],
          [
            'an AuthenticationError',
            () =>
              Promise.reject(
                Object.assign(named('AuthenticationError', `invalid_client: the secret ${SENTINEL} is wrong`), {
                  statusCode: 401,
                  errorResponse: {
                    error: 'invalid_client',
                    errorDescription: 'AADSTS7000215: Invalid client secret provided. Trace ID: 0b4a7c5e-8f5d-4a8e-9d6b-2f3c1e0a9b8c Correlation ID: 5d2f1e0a-3b4c-4d5e-8f6a-7b8c9d0e1f2a',
                    traceId: '0b4a7c5e-8f5d-4a8e-9d6b-2f3c1e0a9b8c',
                    correlationId: '5d2f1e0a-3b4c-4d5e-8f6a-7b8c9d0e1f2a',
                  },
                }),
              ),
            502,
          ],
          [
            'an AuthenticationRequiredError wrapping an MSAL error',
            () =>
              Promise.reject(
                named(
                  'AuthenticationRequiredError',
                  `invalid_client: Error(s): 7000215 - Description: AADSTS7000215: Invalid client secret ${SENTINEL} provided. Trace ID: 0b4a7c5e-8f5d-4a8e-9d6b-2f3c1e0a9b8c Correlation ID: 5d2f1e0a-3b4c-4d5e-8f6a-7b8c9d0e1f2a`,
                ),
              ),
            502,
          ],
          ['an error whose name is the secret', () => Promise.reject(named(SENTINEL, 'x')), 503],
          ['an AuthenticationError with a 503', () => Promise.reject(Object.assign(named('AuthenticationError', `busy ${SENTINEL}`), { statusCode: 503 })), 503],
          ['a string thrown', () => Promise.reject(`raw ${SENTINEL}`), 503],
          ['a token with CR/LF', () => Promise.resolve({ token: `${SENTINEL}\r\nX-Leak: 1`, expiresOnTimestamp: Date.now() + 3600_000 }), 502],
          ['an expired token', () => Promise.resolve({ token: `${SENTINEL}.expired`, expiresOnTimestamp: Date.now() - 1000 }), 502],
        ];
        for (const [name, getToken, status] of credentialCases) {
          it(`${name}: ${status}, and the secret stays out`, async () => {
            const credential: TokenCredential = { getToken: (_scopes: string | string[], _options?: GetTokenOptions) => getToken() };
            const { rig: current, events } = await leakRig(mode, credentialOptions(credential));
            const answer = await current.get();
            captureAnswer(answer, 'answer');
            expect(answer.status, answer.text).to.equal(status);
            await captureRig(current, events);
            artefacts.push(...current.logs);
            if (status === 502 && name.includes('Authentication')) {
              const log = logOf(mode, current).join('\n');
              expect(log).to.include('AADSTS7000215').and.include('5d2f1e0a-3b4c-4d5e-8f6a-7b8c9d0e1f2a');
            }
            expectNoLeak([idp]);
          });
        }

        it('a credential that succeeds: its token reaches the backend and no log', async () => {
          const token = `cred.${randomUUID()}.${randomUUID().replaceAll('-', '')}`;
          otherTokens.push(token);
          const credential: TokenCredential = { getToken: async () => ({ token, expiresOnTimestamp: Date.now() + 3600_000 }) };
          const { rig: current, events } = await leakRig(mode, credentialOptions(credential));
          expect((await current.get()).status).to.equal(200);
          expect(current.backend.received[0]!.headers.authorization).to.equal(`Bearer ${token}`);
          await captureRig(current, events);
          artefacts.push(...current.logs);
          expectNoLeak([idp]);
        });

        it('createTokenProvider without Express: the same', async () => {
          const credential: TokenCredential = { getToken: () => Promise.reject(new Error(`nope ${SENTINEL}`)) };
          const provider = createTokenProvider({ credential, resource: 'api://leaks', cache: new MemoryTokenCache(), timeoutMs: 300, failureCooldownMs: 0 });
          const errors: unknown[] = [];
          provider.on('error', (e) => errors.push(e));
          await provider.getToken().then(
            () => expect.fail('resolved'),
            (error: unknown) => capture(error, 'provider error'),
          );
          capture(provider, 'provider');
          capture(provider.stats(), 'stats');
          errors.forEach((e, i) => capture(e, `event ${i}`));
          await provider.close();
          expect(errors).to.have.length(1);
          expectNoLeak([idp]);
        });
      });
    });
  }

  describe('finally', () => {
    it('across every flow above: no sentinel, no issued token, anywhere', () => {
      expect(artefacts.length).to.be.above(100);
      expect(otherTokens.length, 'tokens were issued along the way').to.be.above(4);
      expectNoLeak([idp, shortIdp], true);
    });
  });
});

function named(name: string, message: string): Error {
  const error = new Error(message);
  error.name = name;
  return error;
}

function credentialOptions(credential: TokenCredential): Partial<AadBackendAuthOptions> {
  return { credential, tenantId: undefined, clientId: undefined, clientSecret: undefined, authorityHost: undefined, timeoutMs: 250 };
}
