import axios, { AxiosError, type AxiosInstance } from 'axios';
import { expect } from 'chai';
import { Readable } from 'node:stream';
import { AadBackendAuthError, aadBackendAuth, createTokenProvider, useAadBackendAuth, type TokenProvider } from '../../lib/index.js';
import { startEntraEmulator, type EntraEmulator } from '../../lib/testing/index.js';
import { INVALID_TOKEN, claimsChallenge, startScriptedBackend, type ScriptedBackend } from '../helpers/scripted-backend.js';
import { emulatorOptions } from '../helpers/setup.js';
import { CAE_CLAIMS, expectNoLeak, rejection } from '../helpers/client-checks.js';
import { startupErrorOf } from '../helpers/startup-error.js';

describe('useAadBackendAuth: the axios interceptor, with real axios', () => {
  let idp: EntraEmulator;
  let backend: ScriptedBackend;
  let api: AxiosInstance;
  const providers: TokenProvider[] = [];
  const ejects: (() => void)[] = [];
  /** From options: the interceptor owns its provider, and eject closes it. */
  const install = (options: Parameters<typeof emulatorOptions>[1] = {}, clientOptions: Parameters<typeof useAadBackendAuth>[2] = {}): (() => void) => {
    const eject = useAadBackendAuth(api, emulatorOptions(idp, options), clientOptions);
    ejects.push(eject);
    return eject;
  };
  const refuseFirstToken = (): void => {
    let refused: string | undefined;
    backend.script((r) => {
      refused ??= r.token;
      return r.token === refused ? INVALID_TOKEN : undefined;
    });
  };
  beforeEach(async () => {
    idp = await startEntraEmulator({ latencyMs: 20 });
    backend = await startScriptedBackend();
    api = axios.create({ baseURL: `${backend.url}/api` });
  });
  afterEach(async () => {
    for (const eject of ejects.splice(0)) eject();
    for (const provider of providers.splice(0)) await provider.close();
    await backend.close();
    await idp.close();
  });

  it('sends the app token, overwriting the caller\'s own, from the cache; eject removes both interceptors', async () => {
    const eject = install();
    for (let i = 0; i < 3; i++) expect((await api.get(`/orders/${i}`, { headers: { Authorization: 'Bearer callers-own' } })).status).to.equal(200);
    expect(idp.isIssued(backend.received[0]!.token!)?.audience).to.equal('api://orders');
    expect(new Set(backend.received.map((r) => r.token)).size).to.equal(1);
    expect(idp.tokenRequests).to.have.length(1);
    eject();
    await api.get('/after-eject');
    expect(backend.received[3]!.headers.authorization).to.equal(undefined);
  });

  it('a backend that rejects token T once: 200 after one retry, two token requests in all', async () => {
    refuseFirstToken();
    install();
    const res = await api.post('/orders', { item: 'beans' });
    expect(res.status).to.equal(200);
    expect(backend.received).to.have.length(2);
    expect(backend.received.map((r) => r.body)).to.deep.equal(['{"item":"beans"}', '{"item":"beans"}']);
    expect(backend.received[1]!.token).not.to.equal(backend.received[0]!.token);
    expect(idp.tokenRequests).to.have.length(2);
  });

  it('100 concurrent calls all rejected once: 1 new token request and 100 retries', async () => {
    refuseFirstToken();
    install();
    const answers = await Promise.all(Array.from({ length: 100 }, (_, i) => api.get(`/c/${i}`)));
    expect(answers.map((r) => r.status)).to.deep.equal(Array(100).fill(200));
    expect(idp.tokenRequests).to.have.length(2);
    expect(backend.received).to.have.length(200);
    const perPath = new Map<string, number>();
    for (const r of backend.received) perPath.set(r.url, (perPath.get(r.url) ?? 0) + 1);
    expect(perPath.size).to.equal(100);
    expect([...perPath.values()].every((n) => n === 2)).to.equal(true);
  });

  it('a second 401 is returned as is: an AxiosError by default, a response with validateStatus', async () => {
    backend.script(() => INVALID_TOKEN);
    install({ purgeCooldownMs: 0 });
    const error = await rejection(api.get('/always'));
    expect(error).to.be.instanceOf(AxiosError);
    expect((error as AxiosError).response?.status).to.equal(401);
    expect(backend.received).to.have.length(2);
    expectNoLeak(error, idp);
    const res = await api.get('/always', { validateStatus: () => true });
    expect(res.status).to.equal(401);
    expect(backend.received).to.have.length(4);
    expect(idp.tokenRequests).to.have.length(4);
  });

  it('a stream body is not sent again', async () => {
    refuseFirstToken();
    install();
    const error = await rejection(api.post('/upload', Readable.from([Buffer.from('streamed')]), { headers: { 'content-type': 'application/octet-stream' } }));
    expect((error as AxiosError).response?.status).to.equal(401);
    expect(backend.received).to.have.length(1);
    expect(backend.received[0]!.body).to.equal('streamed');
    // The refused token was still evicted.
    expect((await api.get('/next')).status).to.equal(200);
    expect(idp.tokenRequests).to.have.length(2);
  });

  it('retryOnUnauthorized: false rejects with the 401, and the next call gets a new token', async () => {
    refuseFirstToken();
    install({}, { retryOnUnauthorized: false });
    const error = await rejection(api.get('/a'));
    expect((error as AxiosError).response?.status).to.equal(401);
    expect(backend.received).to.have.length(1);
    expect((await api.get('/b')).status).to.equal(200);
    expect(idp.tokenRequests).to.have.length(2);
  });

  it('a claims challenge: the next token request carries the claims (with cp1), and the call succeeds', async () => {
    backend.script((r) => (idp.isIssued(r.token ?? '')?.claims?.includes('nbf') ? undefined : claimsChallenge(CAE_CLAIMS)));
    install({ clientCapabilities: ['cp1'] });
    expect((await api.get('/cae')).status).to.equal(200);
    expect(idp.tokenRequests.map((r) => r.form.claims)).to.deep.equal([
      '{"access_token":{"xms_cc":{"values":["cp1"]}}}',
      JSON.stringify({ access_token: { ...CAE_CLAIMS.access_token, xms_cc: { values: ['cp1'] } } }),
    ]);
    expect(backend.received).to.have.length(2);
  });

  it('the IdP down: rejects with ERR_IDP_UNAVAILABLE, and nothing reaches the backend', async () => {
    idp.fail({ kind: 'status', status: 503 }, Infinity);
    install({ timeoutMs: 600 });
    const error = await rejection(api.get('/down'));
    expect(error).to.be.instanceOf(AadBackendAuthError);
    expect(error).to.include({ code: 'ERR_IDP_UNAVAILABLE', status: 503 });
    expect(backend.received).to.have.length(0);
    expectNoLeak(error, idp);
  });

  it('axios errors carry no token: config.headers redacted, request replaced by a summary', async () => {
    backend.script(() => ({ status: 500 }));
    const dead = await startScriptedBackend();
    await dead.close();
    // The instance's baseURL alone is allowed by default; the unreachable backend is a second origin.
    install({}, { allowedOrigins: [backend.url, dead.url] });
    const error = (await rejection(api.get('/boom?x=1'))) as AxiosError;
    expect(error).to.be.instanceOf(AxiosError);
    expect(error.response?.status).to.equal(500);
    expect(error.config?.headers.get('authorization')).to.equal('[REDACTED]');
    const host = new URL(backend.url).host;
    expect(error.request).to.deep.equal({ method: 'GET', host: host.split(':')[0], path: '/api/boom' });
    expect(error.response?.request).to.deep.equal(error.request);
    expect(error.response?.data).to.include({ ok: false });
    expectNoLeak(error, idp);

    const unreachable = (await rejection(api.get(`${dead.url}/gone`))) as AxiosError;
    expect(unreachable.code).to.equal('ECONNREFUSED');
    expectNoLeak(unreachable, idp);
  });

  it('redacts the errors of the fetch adapter too', async () => {
    backend.script(() => ({ status: 404 }));
    install();
    const error = (await rejection(api.get('/missing', { adapter: 'fetch' }))) as AxiosError;
    expect(error.response?.status).to.equal(404);
    expect(error.request).to.include({ method: 'GET', path: '/api/missing' });
    expectNoLeak(error, idp);
  });

  it('from a TokenProvider: shares it, and eject leaves it open', async () => {
    const provider = createTokenProvider(emulatorOptions(idp));
    providers.push(provider);
    const eject = useAadBackendAuth(api, provider);
    expect((await api.get('/p')).status).to.equal(200);
    eject();
    expect(idp.isIssued((await provider.getToken()).token)).not.to.equal(undefined);
    expect(idp.tokenRequests).to.have.length(1);
  });

  it('shares a middleware\'s provider; refuses per-request targets and bad options at start-up', async () => {
    const auth = aadBackendAuth(emulatorOptions(idp));
    providers.push(auth.tokenProvider);
    useAadBackendAuth(api, auth);
    await auth.tokenProvider.getToken();
    expect((await api.get('/shared')).status).to.equal(200);
    expect(idp.tokenRequests).to.have.length(1);

    const perRequest = emulatorOptions(idp, { tenantId: () => 'contoso.onmicrosoft.com' });
    expect(startupErrorOf(() => useAadBackendAuth(axios.create(), perRequest)).message).to.include('createAuthFetch');
    expect(startupErrorOf(() => useAadBackendAuth(axios.create(), emulatorOptions(idp), { retryOnUnauthorized: 1 as never })).message).to.include('"retryOnUnauthorized"');
  });
});
