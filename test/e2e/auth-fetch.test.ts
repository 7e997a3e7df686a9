import { expect } from 'chai';
import express from 'express';
import { randomUUID } from 'node:crypto';
import http, { type IncomingMessage, type Server } from 'node:http';
import { AadBackendAuthError, aadBackendAuth, createAuthFetch, createTokenProvider, type AuthFetch } from '../../lib/index.js';
import { startEntraEmulator, type EntraEmulator } from '../../lib/testing/index.js';
import { startGateway } from '../helpers/gateway.js';
import { INVALID_TOKEN, claimsChallenge, startScriptedBackend, type ScriptedBackend } from '../helpers/scripted-backend.js';
import { close, listen } from '../helpers/servers.js';
import { emulatorOptions } from '../helpers/setup.js';
import { CAE_CLAIMS, expectNoLeak, rejection } from '../helpers/client-checks.js';
import { startupErrorOf } from '../helpers/startup-error.js';

describe('createAuthFetch with the real fetch (undici)', () => {
  let idp: EntraEmulator;
  let backend: ScriptedBackend;
  const fetches: AuthFetch[] = [];
  const make = (...args: Parameters<typeof createAuthFetch>): AuthFetch => {
    const made = createAuthFetch(...args);
    fetches.push(made);
    return made;
  };
  beforeEach(async () => {
    idp = await startEntraEmulator({ latencyMs: 20 });
    backend = await startScriptedBackend();
  });
  afterEach(async () => {
    for (const made of fetches.splice(0)) await made.tokenProvider.close();
    await backend.close();
    await idp.close();
  });

  it('sends the app token, overwriting the caller\'s own Authorization, from the cache after the first call', async () => {
    const authFetch = make(emulatorOptions(idp));
    for (let i = 0; i < 3; i++) {
      const res = await authFetch(`${backend.url}/orders/${i}`, { headers: { Authorization: 'Bearer callers-own', 'x-kept': 'yes' } });
      expect(res.status).to.equal(200);
    }
    expect(backend.received.map((r) => r.headers['x-kept'])).to.deep.equal(['yes', 'yes', 'yes']);
    expect(idp.isIssued(backend.received[0]!.token!)?.audience).to.equal('api://orders');
    expect(new Set(backend.received.map((r) => r.token)).size).to.equal(1);
    expect(idp.tokenRequests).to.have.length(1);
    expect(authFetch.tokenProvider.stats()).to.include({ tokenRequests: 1, cacheHits: 2 });
  });

  it('takes the headers of a Request input, as fetch does', async () => {
    const authFetch = make(emulatorOptions(idp));
    const res = await authFetch(new Request(`${backend.url}/r`, { headers: { 'x-from-request': '1', authorization: 'Basic eA==' } }));
    expect(res.status).to.equal(200);
    expect(backend.received[0]!.headers['x-from-request']).to.equal('1');
    expect(idp.isIssued(backend.received[0]!.token!)).not.to.equal(undefined);
  });

  it('a backend that rejects token T once: 200 after one retry, two token requests in all', async () => {
    let refused: string | undefined;
    backend.script((r) => {
      refused ??= r.token;
      return r.token === refused ? INVALID_TOKEN : undefined;
    });
    const authFetch = make(emulatorOptions(idp));
    const res = await authFetch(`${backend.url}/orders/7`);
    expect(res.status).to.equal(200);
    expect(backend.received).to.have.length(2);
    expect(backend.received[1]!.token).not.to.equal(refused);
    expect(idp.tokenRequests).to.have.length(2);
    expect(authFetch.tokenProvider.stats()).to.include({ evictions: 1, tokenRequests: 2 });
  });

  it('100 concurrent calls all rejected once: 1 new token request and 100 retries', async () => {
    let refused: string | undefined;
    backend.script((r) => {
      refused ??= r.token;
      return r.token === refused ? INVALID_TOKEN : undefined;
    });
    const authFetch = make(emulatorOptions(idp));
    const answers = await Promise.all(Array.from({ length: 100 }, (_, i) => authFetch(`${backend.url}/c/${i}`)));
    expect(answers.map((r) => r.status)).to.deep.equal(Array(100).fill(200));
    expect(idp.tokenRequests).to.have.length(2);
    expect(backend.received).to.have.length(200);
    const byToken = new Map<string | undefined, number>();
    for (const r of backend.received) byToken.set(r.token, (byToken.get(r.token) ?? 0) + 1);
    expect([...byToken.values()]).to.deep.equal([100, 100]);
    // Each call was sent exactly twice.
    const perPath = new Map<string, number>();
    for (const r of backend.received) perPath.set(r.url, (perPath.get(r.url) ?? 0) + 1);
    expect([...perPath.values()].every((n) => n === 2)).to.equal(true);
  });

  it('a second 401 is returned as is', async () => {
    backend.script(() => INVALID_TOKEN);
    const authFetch = make(emulatorOptions(idp));
    const res = await authFetch(`${backend.url}/always`);
    expect(res.status).to.equal(401);
    expect(res.headers.get('www-authenticate')).to.include('invalid_token');
    expect((await res.json()) as object).to.include({ ok: false });
    expect(backend.received).to.have.length(2);
    expect(idp.tokenRequests).to.have.length(2);
  });

  it('within the eviction cooldown, a 401 for the token still held is returned without a retry', async () => {
    backend.script(() => INVALID_TOKEN);
    const authFetch = make(emulatorOptions(idp, { purgeCooldownMs: 60_000 }));
    expect((await authFetch(`${backend.url}/one`)).status).to.equal(401);
    expect((await authFetch(`${backend.url}/two`)).status).to.equal(401);
    // The first call: 2 sends and 2 tokens; the second: 1 send, the cooldown keeps the token.
    expect(backend.received).to.have.length(3);
    expect(idp.tokenRequests).to.have.length(2);
  });

  it('sends replayable bodies again, byte for byte', async () => {
    // No eviction cooldown: each body gets its own refused token.
    const authFetch = make(emulatorOptions(idp, { purgeCooldownMs: 0 }));
    const form = new FormData();
    form.set('field', 'value');
    const bodies: [string, NonNullable<RequestInit['body']>][] = [
      ['string', 'plain text'],
      ['bytes', new TextEncoder().encode('typed array')],
      ['params', new URLSearchParams({ a: '1' })],
      ['blob', new Blob(['blob body'])],
      ['form', form],
    ];
    for (const [name, body] of bodies) {
      backend.received.length = 0;
      let refused: string | undefined;
      backend.script((r) => {
        refused ??= r.token;
        return r.token === refused ? INVALID_TOKEN : undefined;
      });
      authFetch.tokenProvider.invalidate();
      const res = await authFetch(`${backend.url}/${name}`, { method: 'POST', body });
      expect(res.status, name).to.equal(200);
      expect(backend.received, name).to.have.length(2);
      // FormData gets a new multipart boundary each time it is serialised; the rest is the same.
      const unbounded = (text: string): string => text.replace(/-+formdata-undici-\d+/g, '--boundary');
      expect(unbounded(backend.received[1]!.body), name).to.equal(unbounded(backend.received[0]!.body));
      expect(backend.received[0]!.body.length, name).to.be.greaterThan(0);
    }
  });

  it('a stream body is not sent again: the 401 is returned, and the token is still evicted', async () => {
    let refused: string | undefined;
    backend.script((r) => {
      refused ??= r.token;
      return r.token === refused ? INVALID_TOKEN : undefined;
    });
    const authFetch = make(emulatorOptions(idp));
    const stream = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('streamed'));
        controller.close();
      },
    });
    const res = await authFetch(`${backend.url}/upload`, { method: 'POST', body: stream, duplex: 'half' } as RequestInit);
    expect(res.status).to.equal(401);
    expect(backend.received).to.have.length(1);
    expect(backend.received[0]!.body).to.equal('streamed');
    expect((await authFetch(`${backend.url}/next`)).status).to.equal(200);
    expect(idp.tokenRequests).to.have.length(2);
  });

  it('retryOnUnauthorized: false returns the 401, and the next call gets a new token', async () => {
    let refused: string | undefined;
    backend.script((r) => {
      refused ??= r.token;
      return r.token === refused ? INVALID_TOKEN : undefined;
    });
    const authFetch = make(emulatorOptions(idp), { retryOnUnauthorized: false });
    expect((await authFetch(`${backend.url}/a`)).status).to.equal(401);
    expect(backend.received).to.have.length(1);
    expect((await authFetch(`${backend.url}/b`)).status).to.equal(200);
    expect(idp.tokenRequests).to.have.length(2);
  });

  it('a 401 that is not a Bearer challenge is returned as is and evicts nothing', async () => {
    backend.script((_r, i) => (i === 0 ? { status: 401, headers: { 'www-authenticate': 'Basic realm="Bearer"' } } : undefined));
    const authFetch = make(emulatorOptions(idp));
    expect((await authFetch(`${backend.url}/basic`)).status).to.equal(401);
    expect((await authFetch(`${backend.url}/again`)).status).to.equal(200);
    expect(backend.received).to.have.length(2);
    expect(idp.tokenRequests).to.have.length(1);
    expect(authFetch.tokenProvider.stats().evictions).to.equal(0);
  });

  it('a claims challenge (with clientCapabilities): the next token request carries the claims, bypassing the cache, and the call succeeds', async () => {
    backend.script((r) => (idp.isIssued(r.token ?? '')?.claims?.includes('nbf') ? undefined : claimsChallenge(CAE_CLAIMS)));
    const authFetch = make(emulatorOptions(idp, { clientCapabilities: ['cp1'] }));
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => authFetch(`${backend.url}/cae/${i}`)));
    expect(answers.every((r) => r.status === 200)).to.equal(true);
    expect(idp.tokenRequests).to.have.length(2);
    expect(JSON.parse(idp.tokenRequests[0]!.form.claims!).access_token.nbf).to.equal(undefined);
    expect(JSON.parse(idp.tokenRequests[1]!.form.claims!).access_token.nbf).to.deep.equal(CAE_CLAIMS.access_token.nbf);
    // The token with the claims is now the cached one.
    expect((await authFetch(`${backend.url}/after`)).status).to.equal(200);
    expect(idp.tokenRequests).to.have.length(2);
  });

  it('clientCapabilities: every token request announces cp1, merged with a challenge\'s claims', async () => {
    backend.script((r) => (idp.isIssued(r.token ?? '')?.claims?.includes('nbf') ? undefined : claimsChallenge(CAE_CLAIMS)));
    const authFetch = make(emulatorOptions(idp, { clientCapabilities: ['cp1'] }));
    expect((await authFetch(`${backend.url}/cp1`)).status).to.equal(200);
    expect(idp.tokenRequests.map((r) => r.form.claims)).to.deep.equal([
      '{"access_token":{"xms_cc":{"values":["cp1"]}}}',
      JSON.stringify({ access_token: { ...CAE_CLAIMS.access_token, xms_cc: { values: ['cp1'] } } }),
    ]);
  });

  it('a claims challenge without clientCapabilities: the token is evicted, the call is sent again once, and no claims are asked for', async () => {
    backend.script((r) => (r.url.startsWith('/cae') ? claimsChallenge(CAE_CLAIMS) : undefined));
    const authFetch = make(emulatorOptions(idp));
    expect((await authFetch(`${backend.url}/cae`)).status).to.equal(401);
    expect(backend.received).to.have.length(2);
    expect((await authFetch(`${backend.url}/other`)).status).to.equal(200);
    expect(idp.tokenRequests.map((r) => r.form.claims)).to.deep.equal([undefined, undefined]);
  });

  it('a provider with capabilities never shares tokens with one without', async () => {
    const plain = make(emulatorOptions(idp, { cache: undefined }));
    const capable = make(emulatorOptions(idp, { cache: undefined, clientCapabilities: ['cp1'] }));
    await plain(`${backend.url}/p`);
    await capable(`${backend.url}/c`);
    expect(idp.tokenRequests).to.have.length(2);
    expect(backend.received[0]!.token).not.to.equal(backend.received[1]!.token);
    expect(idp.isIssued(backend.received[1]!.token!)?.claims).to.include('cp1');
  });

  it('the IdP down: rejects with ERR_IDP_UNAVAILABLE, and nothing reaches the backend', async () => {
    idp.fail({ kind: 'status', status: 503 }, Infinity);
    const authFetch = make(emulatorOptions(idp, { timeoutMs: 600 }));
    const error = await rejection(authFetch(`${backend.url}/down`));
    expect(error).to.be.instanceOf(AadBackendAuthError);
    expect(error).to.include({ code: 'ERR_IDP_UNAVAILABLE', status: 503 });
    expect(backend.received).to.have.length(0);
    expectNoLeak(error, idp);
  });

  it('the IdP down after a 401: rejects with the AadBackendAuthError, the request is not sent again', async () => {
    backend.script(() => INVALID_TOKEN);
    const authFetch = make(emulatorOptions(idp, { timeoutMs: 600 }));
    await authFetch.tokenProvider.getToken();
    idp.fail({ kind: 'status', status: 503 }, Infinity);
    const error = await rejection(authFetch(`${backend.url}/refused`));
    expect(error).to.include({ code: 'ERR_IDP_UNAVAILABLE' });
    expect(backend.received).to.have.length(1);
    expectNoLeak(error, idp);
  });

  it('the IdP refuses the secret: ERR_IDP_REJECTED, with no secret or token in the error', async () => {
    const authFetch = make(emulatorOptions(idp));
    expect((await authFetch(`${backend.url}/ok`)).status).to.equal(200);
    authFetch.tokenProvider.invalidate();
    idp.fail({ kind: 'oauth-error', error: 'invalid_client' }, Infinity);
    const error = await rejection(authFetch(`${backend.url}/refused`));
    expect(error).to.include({ code: 'ERR_IDP_REJECTED', status: 502 });
    expect(backend.received).to.have.length(1);
    expectNoLeak(error, idp);
  });

  it('a backend that cannot be reached: fetch\'s own error, with no token in it', async () => {
    const authFetch = make(emulatorOptions(idp));
    const dead = await startScriptedBackend();
    await dead.close();
    const error = await rejection(authFetch(`${dead.url}/gone`));
    expect(error).to.be.instanceOf(TypeError);
    expect(idp.issued).to.have.length(1);
    expectNoLeak(error, idp);
  });

  it('wraps another fetch given as the "fetch" option', async () => {
    const seen: string[] = [];
    const authFetch = make(emulatorOptions(idp), {
      fetch: (input, init) => {
        seen.push(new Headers(init?.headers).get('authorization')?.slice(0, 7) ?? 'none');
        return fetch(input, init);
      },
    });
    expect((await authFetch(`${backend.url}/wrapped`)).status).to.equal(200);
    expect(seen).to.deep.equal(['Bearer ']);
  });

  it('shares the provider of a middleware or a TokenProvider, and with it the cache', async () => {
    const auth = aadBackendAuth(emulatorOptions(idp));
    const gateway = await startGateway([{ path: '/api', auth, target: backend.url }]);
    try {
      const authFetch = createAuthFetch(auth);
      expect(authFetch.tokenProvider).to.equal(auth.tokenProvider);
      expect((await fetch(`${gateway.url}/api/proxied`)).status).to.equal(200);
      expect((await authFetch(`${backend.url}/direct`)).status).to.equal(200);
      expect(idp.tokenRequests).to.have.length(1);
      expect(backend.received[0]!.token).to.equal(backend.received[1]!.token);
    } finally {
      await auth.tokenProvider.close();
      await gateway.close();
    }
    const provider = createTokenProvider(emulatorOptions(idp));
    try {
      expect(createAuthFetch(provider).tokenProvider).to.equal(provider);
    } finally {
      await provider.close();
    }
  });

  it('refuses a bad source or option at start-up, naming it', () => {
    expect(startupErrorOf(() => createAuthFetch((() => undefined) as never)).message).to.include('"source"');
    expect(startupErrorOf(() => createAuthFetch({ getToken: async () => ({}) } as never)).message).to.include('"source"');
    expect(startupErrorOf(() => createAuthFetch(emulatorOptions(idp), { retryOnUnauthorized: 'no' as never })).message).to.include('"retryOnUnauthorized"');
    expect(startupErrorOf(() => createAuthFetch(emulatorOptions(idp), { fetch: 1 as never })).message).to.include('"fetch"');
    expect(startupErrorOf(() => createAuthFetch(emulatorOptions(idp), { retry: true } as never)).message).to.include('"retry"');
    expect(startupErrorOf(() => createAuthFetch(emulatorOptions(idp, { clientCapabilities: 'cp1' as never }))).message).to.include('"clientCapabilities"');
  });
});

describe('createAuthFetch.for(req): per-request tenants in a route handler', () => {
  let idp: EntraEmulator;
  let backend: ScriptedBackend;
  let app: Server;
  let appUrl: string;
  let authFetch: AuthFetch;
  const tenants = [randomUUID(), randomUUID()];

  before(async () => {
    idp = await startEntraEmulator({ tenants });
    backend = await startScriptedBackend();
    const header = (req: IncomingMessage): string => String(req.headers['x-tenant'] ?? '');
    authFetch = createAuthFetch(emulatorOptions(idp, { tenantId: header }));
    const server = express();
    server.get('/summary', async (req, res) => {
      try {
        const answer = await authFetch.for(req)(`${backend.url}/data`);
        res.status(answer.status).json(await answer.json());
      } catch (error) {
        res.status((error as AadBackendAuthError).status).json({ code: (error as AadBackendAuthError).code });
      }
    });
    app = http.createServer(server);
    appUrl = await listen(app);
  });
  after(async () => {
    await authFetch.tokenProvider.close();
    await close(app);
    await backend.close();
    await idp.close();
  });

  it('gives each request its tenant\'s token', async () => {
    for (const tenant of [...tenants, ...tenants]) {
      const res = await fetch(`${appUrl}/summary`, { headers: { 'x-tenant': tenant } });
      expect(res.status).to.equal(200);
    }
    const tenantIds = backend.received.map((r) => idp.isIssued(r.token ?? '')?.tenantId);
    expect(tenantIds).to.deep.equal([...tenants, ...tenants]);
    expect(idp.tokenRequests).to.have.length(2);
  });

  it('rejects a bad per-request tenant with ERR_INVALID_TARGET, and a call without a request too', async () => {
    const before = backend.received.length;
    const res = await fetch(`${appUrl}/summary`, { headers: { 'x-tenant': 'common' } });
    expect(res.status).to.equal(400);
    expect(await res.json()).to.deep.equal({ code: 'ERR_INVALID_TARGET' });
    const error = await rejection(authFetch(`${backend.url}/no-request`));
    expect(error).to.be.instanceOf(AadBackendAuthError).and.to.include({ code: 'ERR_INVALID_TARGET' });
    expect(backend.received).to.have.length(before);
  });
});

describe('createAuthFetch with a TokenCredential source: claims and enableCae in GetTokenOptions', () => {
  it('asks with enableCae for cp1, and passes a challenge\'s claims (without the capabilities) on the next request', async () => {
    const calls: { claims: string | undefined; enableCae: boolean | undefined }[] = [];
    class RecordingCredential {
      async getToken(_scopes: string[], options?: { claims?: string; enableCae?: boolean }): Promise<{ token: string; expiresOnTimestamp: number }> {
        calls.push({ claims: options?.claims, enableCae: options?.enableCae });
        return { token: `credential-token-${calls.length}`, expiresOnTimestamp: Date.now() + 3_600_000 };
      }
    }
    const backend = await startScriptedBackend((r) => (r.token === 'credential-token-1' ? claimsChallenge(CAE_CLAIMS) : undefined));
    const authFetch = createAuthFetch({ credential: new RecordingCredential(), resource: 'api://orders', clientCapabilities: ['cp1'], cache: undefined });
    try {
      expect((await authFetch(`${backend.url}/cae`)).status).to.equal(200);
      expect(calls).to.deep.equal([
        { claims: undefined, enableCae: true },
        { claims: JSON.stringify(CAE_CLAIMS), enableCae: true },
      ]);
      expect(backend.received.map((r) => r.token)).to.deep.equal(['credential-token-1', 'credential-token-2']);
    } finally {
      await authFetch.tokenProvider.close();
      await backend.close();
    }
  });
});
