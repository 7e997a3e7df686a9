import axios, { type AxiosInstance } from 'axios';
import { expect } from 'chai';
import type { IncomingMessage } from 'node:http';
import { AadBackendAuthError, createAuthFetch, useAadBackendAuth, type AadBackendAuthOptions, type AuthFetch, type FetchFunction } from '../../lib/index.js';
import { startEntraEmulator, type EntraEmulator } from '../../lib/testing/index.js';
import { expectNoLeak, rejection } from '../helpers/client-checks.js';
import { startScriptedBackend, type ScriptedBackend, type ScriptedRequest } from '../helpers/scripted-backend.js';
import { emulatorOptions } from '../helpers/setup.js';
import { startupErrorOf } from '../helpers/startup-error.js';

/** Issue 17, item 3: the outbound clients send the token to allowed URLs only, and never through a redirect to another origin. */
describe('outbound clients: where the token may go (#17)', () => {
  let idp: EntraEmulator;
  let backend: ScriptedBackend;
  let other: ScriptedBackend;
  const closers: (() => unknown)[] = [];
  const fetchFrom = (options: Partial<AadBackendAuthOptions> = {}, client: Parameters<typeof createAuthFetch>[1] = {}): AuthFetch => {
    const made = createAuthFetch(emulatorOptions(idp, options), client);
    closers.push(() => made.tokenProvider.close());
    return made;
  };
  const axiosFrom = (instance: AxiosInstance, options: Partial<AadBackendAuthOptions> = {}, client: Parameters<typeof useAadBackendAuth>[2] = {}): AxiosInstance => {
    closers.push(useAadBackendAuth(instance, emulatorOptions(idp, options), client));
    return instance;
  };
  /** Fails unless `error` is the refusal: ERR_URL_NOT_ALLOWED, not transient, no secret in it. */
  const expectRefusal = (error: unknown): AadBackendAuthError => {
    expect(error).to.be.instanceOf(AadBackendAuthError);
    const refusal = error as AadBackendAuthError;
    expect(refusal.code, refusal.message).to.equal('ERR_URL_NOT_ALLOWED');
    expect(refusal.transient).to.equal(false);
    expect(refusal.status).to.equal(500);
    expectNoLeak(refusal, idp);
    return refusal;
  };
  /** No issued token in any header of any request `server` received. */
  const expectNoTokenAt = (received: readonly ScriptedRequest[]): void => {
    const tokens = idp.issued.map((t) => t.token);
    expect(tokens).not.to.be.empty;
    for (const request of received) for (const token of tokens) expect(JSON.stringify(request.headers)).not.to.include(token);
  };

  beforeEach(async () => {
    idp = await startEntraEmulator();
    backend = await startScriptedBackend();
    other = await startScriptedBackend();
    // `/go?status=302&to=<url>` redirects; anything else is a 200 echo.
    backend.script((r) => {
      const url = new URL(r.url, 'http://x');
      return url.pathname === '/go' ? { status: Number(url.searchParams.get('status')), headers: { location: url.searchParams.get('to')! } } : undefined;
    });
  });
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
    await other.close();
    await backend.close();
    await idp.close();
  });

  const port = (url: string): string => new URL(url).port;
  /**
   * Not https, not loopback http. No external host: 0.0.0.0 is not a loopback name, yet the kernel
   * delivers it to this machine, so the code before the fix sent the token to the backend there.
   */
  const refusedUrls = (): string[] => [`http://0.0.0.0:${port(backend.url)}/orders`, 'ftp://127.0.0.1/x', 'data:text/plain,hi', `ws://127.0.0.1:${port(backend.url)}/x`, '/relative'];
  const wildcard = (): string => `http://0.0.0.0:${port(backend.url)}`;

  describe('URLs that are not https (loopback http aside)', () => {
    it('createAuthFetch refuses them with ERR_URL_NOT_ALLOWED before any token request', async () => {
      const authFetch = fetchFrom();
      for (const url of refusedUrls()) expectRefusal(await rejection(authFetch(url)));
      expectRefusal(await rejection(authFetch(new URL(`${wildcard()}/u`))));
      expectRefusal(await rejection(authFetch(new Request(`${wildcard()}/r`, { method: 'POST', body: 'x' }))));
      expectRefusal(await rejection(authFetch.for({} as IncomingMessage)(`${wildcard()}/f`)));
      const refusal = expectRefusal(await rejection(authFetch(`http://user:pw@0.0.0.0:${port(backend.url)}/p?sig=secret`)));
      expect(refusal.message).to.include(wildcard()).and.not.to.match(/pw|secret|\/p/);
      expect(backend.received).to.have.length(0);
      expect(idp.tokenRequests).to.have.length(0);
      expect(authFetch.tokenProvider.stats()).to.include({ tokenRequests: 0 });
      // Loopback http is allowed: 127.0.0.0/8 and localhost.
      expect((await authFetch(`${backend.url}/a`)).status).to.equal(200);
      expect((await authFetch(`http://localhost:${port(backend.url)}/b`)).status).to.equal(200);
      expect(idp.tokenRequests).to.have.length(1);
    });

    it('useAadBackendAuth refuses them with ERR_URL_NOT_ALLOWED before any token request', async () => {
      const api = axiosFrom(axios.create());
      for (const url of refusedUrls()) expectRefusal(await rejection(api.get(url)));
      // An absolute url overrides a per-request baseURL, as axios resolves it.
      expectRefusal(await rejection(api.get(`${wildcard()}/x`, { baseURL: backend.url })));
      expectRefusal(await rejection(api.get('/x', { baseURL: wildcard() })));
      expect(backend.received).to.have.length(0);
      expect(idp.tokenRequests).to.have.length(0);
      expect((await api.get(`${backend.url}/a`)).status).to.equal(200);
      expect((await api.get('/b', { baseURL: `http://localhost:${port(backend.url)}` })).status).to.equal(200);
      expect(idp.tokenRequests).to.have.length(1);
    });
  });

  describe('allowedOrigins', () => {
    it('fetch: only the listed origins get the token; the default port counts', async () => {
      const authFetch = fetchFrom({}, { allowedOrigins: [backend.url] });
      expectRefusal(await rejection(authFetch(`${other.url}/x`)));
      expectRefusal(await rejection(authFetch(`http://localhost:${port(backend.url)}/x`)));
      expectRefusal(await rejection(authFetch('https://api.example.com/x')));
      expect(idp.tokenRequests).to.have.length(0);
      expect(other.received).to.have.length(0);
      expect((await authFetch(`${backend.url}/ok`)).status).to.equal(200);

      // https://api.example.com and https://api.example.com:443 are one origin; no network: the wrapped fetch records.
      const seen: string[] = [];
      const recording: FetchFunction = (input) => {
        seen.push(String(input));
        return Promise.resolve(new Response('{}'));
      };
      const exampleFetch = fetchFrom({}, { fetch: recording, allowedOrigins: ['https://API.example.com:443', 'https://b.example.com/'] });
      expect((await exampleFetch('https://api.example.com/x')).status).to.equal(200);
      expect((await exampleFetch('https://b.example.com:443/y')).status).to.equal(200);
      expectRefusal(await rejection(exampleFetch('https://api.example.com:8443/x')));
      expectRefusal(await rejection(exampleFetch('https://sub.api.example.com/x')));
      expect(seen).to.deep.equal(['https://api.example.com/x', 'https://b.example.com:443/y']);
    });

    it('axios: an instance with a baseURL sends the token to that origin alone; allowedOrigins replaces the default', async () => {
      const api = axiosFrom(axios.create({ baseURL: `${backend.url}/api` }));
      expectRefusal(await rejection(api.get(`${other.url}/x`)));
      expectRefusal(await rejection(api.get('/x', { baseURL: other.url })));
      expectRefusal(await rejection(api.get(`http://localhost:${port(backend.url)}/x`)));
      expect(idp.tokenRequests).to.have.length(0);
      expect(other.received).to.have.length(0);
      expect((await api.get('/orders')).status).to.equal(200);
      expect(backend.received.at(-1)!.url).to.equal('/api/orders');

      const replaced = axiosFrom(axios.create({ baseURL: backend.url }), {}, { allowedOrigins: [other.url] });
      expectRefusal(await rejection(replaced.get('/x')));
      expect((await replaced.get(`${other.url}/y`)).status).to.equal(200);
      expect(idp.isIssued(other.received[0]!.token!)).not.to.equal(undefined);
    });

    it('is validated at start-up: bare https (or loopback http) origins only, naming the option', () => {
      const bad: unknown[] = [[], 'https://a.example.com', [42], ['not a url'], ['https://a.example.com/path'], ['https://a.example.com?x=1'], ['https://a.example.com/#f'],
        ['https://u:p@a.example.com'], ['http://a.example.com'], ['ftp://127.0.0.1']];
      for (const allowedOrigins of bad) {
        const options = { allowedOrigins } as unknown as { allowedOrigins: string[] };
        expect(startupErrorOf(() => createAuthFetch(emulatorOptions(idp), options)).message).to.include('"allowedOrigins"');
        expect(startupErrorOf(() => useAadBackendAuth(axios.create(), emulatorOptions(idp), options)).message).to.include('"allowedOrigins"');
      }
      expect(startupErrorOf(() => createAuthFetch(emulatorOptions(idp), { allowedOrigins: ['https://u:p@a.example.com'] })).message).not.to.include('p@');
    });
  });

  describe('redirects to another origin', () => {
    const statuses = [301, 302, 307, 308];
    const targets = (): string[] => [`${other.url}/landed`, `http://localhost:${port(backend.url)}/landed`];
    const landed = (): ScriptedRequest[] => [...other.received, ...backend.received.filter((r) => r.headers.host?.startsWith('localhost'))];
    const goUrl = (status: number, to: string): string => `${backend.url}/go?status=${status}&to=${encodeURIComponent(to)}`;
    /** What a call settled with: its error, or the word "followed"; every call is made before anything is asserted. */
    const outcome = (call: Promise<unknown>): Promise<unknown> => call.then(() => 'followed', (error: unknown) => error);

    for (const header of ['authorization', 'x-backend-token']) {
      it(`fetch, header "${header}": not followed, rejects ERR_URL_NOT_ALLOWED; the other origin sees no token and no body`, async () => {
        const authFetch = fetchFrom({ header });
        const outcomes: unknown[] = [];
        for (const status of statuses) {
          for (const to of targets()) {
            outcomes.push(await outcome(authFetch(goUrl(status, to), { method: 'POST', body: 'secret-body', headers: { 'content-type': 'text/plain' } })));
            outcomes.push(await outcome(authFetch(goUrl(status, to))));
          }
        }
        expectNoTokenAt(landed());
        expect(landed().map((r) => r.url)).to.deep.equal([]);
        outcomes.forEach(expectRefusal);
        expect(backend.received.filter((r) => r.url.startsWith('/go'))).to.have.length(statuses.length * 4);
      });

      it(`axios, header "${header}": not followed, rejects ERR_URL_NOT_ALLOWED; the other origin sees no token and no body`, async () => {
        const api = axiosFrom(axios.create(), { header });
        const outcomes: unknown[] = [];
        for (const status of statuses) {
          for (const to of targets()) {
            outcomes.push(await outcome(api.post(goUrl(status, to), 'secret-body', { headers: { 'content-type': 'text/plain' } })));
            outcomes.push(await outcome(api.get(goUrl(status, to))));
          }
        }
        expectNoTokenAt(landed());
        expect(landed().map((r) => r.url)).to.deep.equal([]);
        outcomes.forEach(expectRefusal);
        expect(backend.received.filter((r) => r.url.startsWith('/go'))).to.have.length(statuses.length * 4);
      });
    }

    it('axios with its fetch adapter: no redirect is followed, the 3xx is the answer', async () => {
      const api = axiosFrom(axios.create({ adapter: 'fetch' }), { header: 'x-backend-token' });
      const outcomes: unknown[] = [];
      for (const status of statuses) outcomes.push(await outcome(api.get(goUrl(status, `${other.url}/landed`))));
      const own = await api.get(goUrl(302, `${other.url}/landed`), { validateStatus: () => true, fetchOptions: { redirect: 'follow' } });
      expectNoTokenAt(other.received);
      expect(other.received).to.have.length(0);
      expect(own.status).to.equal(302);
      outcomes.forEach((error, i) => {
        expect((error as { response?: { status: number } }).response?.status).to.equal(statuses[i]);
        expectNoLeak(error, idp);
      });
    });
  });

  describe('redirects within the origin', () => {
    it('fetch follows them with the token, as fetch would: 303 and 302-after-POST become GET, 307/308 keep method and body', async () => {
      const authFetch = fetchFrom({ header: 'x-backend-token' });
      const hop = (status: number, to: string): string => `/go?status=${status}&to=${encodeURIComponent(to)}`;
      const cases: [number, string, string][] = [[302, 'POST', 'GET'], [303, 'PUT', 'GET'], [307, 'POST', 'POST'], [308, 'PUT', 'PUT'], [301, 'GET', 'GET']];
      for (const [status, method, then] of cases) {
        const res = await authFetch(`${backend.url}${hop(status, '/landed')}`, { method, body: method === 'GET' ? null : 'b', headers: { 'content-type': 'text/plain' } });
        expect(res.status).to.equal(200);
        expect(res.url).to.equal(`${backend.url}/landed`);
        const last = backend.received.at(-1)!;
        expect([last.url, last.method, last.body]).to.deep.equal(['/landed', then, then === 'GET' ? '' : 'b']);
        expect(idp.isIssued(String(last.headers['x-backend-token']).slice(7))).not.to.equal(undefined);
      }
      // Two hops, the second absolute; and a caller's redirect: 'manual' gets the 3xx itself.
      expect((await authFetch(`${backend.url}${hop(301, `${backend.url}${hop(307, '/end')}`)}`)).url).to.equal(`${backend.url}/end`);
      const manual = await authFetch(`${backend.url}${hop(302, `${other.url}/x`)}`, { redirect: 'manual' });
      expect(manual.status).to.equal(302);
      expect(await rejection(authFetch(`${backend.url}${hop(302, `${other.url}/x`)}`, { redirect: 'error' }))).to.be.instanceOf(TypeError);
      expect(other.received).to.have.length(0);
      // A loop ends as fetch's own does: a TypeError after 20 redirects.
      const before = backend.received.length;
      backend.script((r) => (r.url === '/loop' ? { status: 307, headers: { location: '/loop' } } : undefined));
      expect(String(await rejection(authFetch(`${backend.url}/loop`)))).to.include('redirect count exceeded');
      expect(backend.received.length - before).to.equal(21);
      expect(idp.tokenRequests).to.have.length(1);
    });

    it('axios follows them with the token', async () => {
      const api = axiosFrom(axios.create({ baseURL: backend.url }), { header: 'x-backend-token' });
      const res = await api.post(`/go?status=307&to=${encodeURIComponent('/landed')}`, { a: 1 });
      expect(res.status).to.equal(200);
      const last = backend.received.at(-1)!;
      expect([last.url, last.method, last.body]).to.deep.equal(['/landed', 'POST', '{"a":1}']);
      expect(idp.isIssued(String(last.headers['x-backend-token']).slice(7))).not.to.equal(undefined);
    });
  });
});
