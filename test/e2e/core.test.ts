import { expect } from 'chai';
import request from 'supertest';
import { aadBackendAuth, type AadBackendAuthError } from '../../lib/index.js';
import { DEFAULT_TENANT_ID } from '../../lib/testing/index.js';
import { VERSION_MATRIX, startGateway } from '../helpers/gateway.js';
import { bearer, emulatorOptions, startStack, type Stack } from '../helpers/setup.js';


describe('aadBackendAuth in front of http-proxy-middleware', () => {
  for (const versions of VERSION_MATRIX) {
    describe(`Express ${versions.express}, http-proxy-middleware ${versions.proxy}`, () => {
      let stack: Stack;
      beforeEach(async () => {
        stack = await startStack({ ...versions, auth: { removeHeaders: ['cookie', 'Ocp-Apim-Subscription-Key'] } });
      });
      afterEach(() => stack.close());

      it('forwards the IdP token, replacing the client Authorization and removing the listed headers', async () => {
        const res = await request(stack.gateway.url)
          .get('/api/orders/42?x=1')
          .set('Authorization', 'Bearer the-clients-own-token')
          .set('Cookie', 'session=abc')
          .set('Ocp-Apim-Subscription-Key', 'apim-key')
          .set('X-Kept', 'yes');
        expect(res.status).to.equal(200);
        expect(stack.backend.received).to.have.length(1);
        const seen = stack.backend.received[0]!;
        expect(seen.url).to.equal('/orders/42?x=1');
        const token = bearer(seen.headers.authorization);
        expect(stack.idp.isIssued(token ?? '')?.audience).to.equal('api://orders');
        expect(seen.headers.cookie).to.equal(undefined);
        expect(seen.headers['ocp-apim-subscription-key']).to.equal(undefined);
        expect(seen.headers['x-kept']).to.equal('yes');
      });

      it('answers 502 problem+json and forwards nothing when the IdP refuses', async () => {
        stack.idp.fail({ kind: 'oauth-error', error: 'invalid_client' }, Infinity);
        const res = await request(stack.gateway.url).get('/api/orders');
        expect(res.status).to.equal(502);
        expect(res.headers['content-type']).to.equal('application/problem+json');
        expect(res.body).to.include({ status: 502, code: 'ERR_IDP_REJECTED' });
        expect(stack.backend.received).to.have.length(0);
      });
    });
  }
});

describe('single flight and caching', () => {
  let stack: Stack;
  afterEach(() => stack.close());

  it('makes one token request for 500 concurrent cold requests', async () => {
    stack = await startStack({ emulator: { latencyMs: 100 } });
    const answers = await Promise.all(Array.from({ length: 500 }, () => fetch(`${stack.gateway.url}/api/x`)));
    expect(answers.filter((r) => r.status !== 200)).to.have.length(0);
    expect(stack.idp.tokenRequests).to.have.length(1);
    expect(stack.backend.received).to.have.length(500);
    const tokens = new Set(stack.backend.received.map((r) => r.headers.authorization));
    expect(tokens.size).to.equal(1);
    expect(stack.auth.tokenProvider.stats()).to.include({ tokenRequests: 1 });
  });

  it('makes one token request for 300 sequential requests', async () => {
    stack = await startStack();
    for (let i = 0; i < 300; i++) expect((await fetch(`${stack.gateway.url}/api/x`)).status).to.equal(200);
    expect(stack.idp.tokenRequests).to.have.length(1);
    expect(stack.auth.tokenProvider.stats()).to.include({ cacheHits: 299, waits: 1, tokenRequests: 1 });
  });

  it('shares one token and one flight between two routes with the same tenant, client and scope', async () => {
    stack = await startStack({ emulator: { latencyMs: 100 } });
    const shared = emulatorOptions(stack.idp, { cache: undefined });
    const [first, second] = [aadBackendAuth(shared), aadBackendAuth(shared)];
    const gateway = await startGateway([
      { path: '/one', auth: first, target: stack.backend.url },
      { path: '/two', auth: second, target: stack.backend.url },
    ]);
    try {
      const paths = Array.from({ length: 200 }, (_, i) => (i % 2 === 0 ? '/one' : '/two'));
      const answers = await Promise.all(paths.map((path) => fetch(`${gateway.url}${path}/x`)));
      expect(answers.every((r) => r.status === 200)).to.equal(true);
      expect(stack.idp.tokenRequests).to.have.length(1);
      expect(new Set(stack.backend.received.map((r) => r.headers.authorization)).size).to.equal(1);
    } finally {
      await first.tokenProvider.close();
      await second.tokenProvider.close();
      await gateway.close();
    }
  });

  it('gives each scope its own token and never sends one backend the token of another', async () => {
    stack = await startStack();
    const orders = aadBackendAuth(emulatorOptions(stack.idp, { resource: 'api://orders' }));
    const billing = aadBackendAuth(emulatorOptions(stack.idp, { resource: undefined, scope: 'api://billing/.default' }));
    const gateway = await startGateway([
      { path: '/orders', auth: orders, target: stack.backend.url },
      { path: '/billing', auth: billing, target: stack.backend.url },
    ]);
    try {
      for (let i = 0; i < 20; i++) {
        await fetch(`${gateway.url}/orders/${i}`, { headers: { 'x-route': 'orders' } });
        await fetch(`${gateway.url}/billing/${i}`, { headers: { 'x-route': 'billing' } });
      }
      for (const seen of stack.backend.received) {
        const audience = stack.idp.isIssued(bearer(seen.headers.authorization) ?? '')?.audience;
        expect(audience, seen.url).to.equal(`api://${String(seen.headers['x-route'])}`);
      }
      expect(stack.backend.received).to.have.length(40);
      expect(stack.idp.tokenRequests).to.have.length(2);
      expect(stack.idp.tokenRequests.map((r) => r.form.scope).sort()).to.deep.equal(['api://billing/.default', 'api://orders/.default']);
    } finally {
      await orders.tokenProvider.close();
      await billing.tokenProvider.close();
      await gateway.close();
    }
  });
});

describe('refresh ahead of expiry', function () {
  this.timeout(30_000);
  let stack: Stack;
  afterEach(() => stack.close());

  it('with 4 s tokens and a 300 ms IdP, no request after the first waits and none carries an expired token', async () => {
    stack = await startStack({ emulator: { tokenLifetimeSeconds: 4, latencyMs: 300 } });
    const started = Date.now();
    const slow: number[] = [];
    let sent = 0;
    while (Date.now() - started < 9000) {
      const at = Date.now();
      const res = await fetch(`${stack.gateway.url}/api/tick`);
      expect(res.status).to.equal(200);
      sent++;
      if (sent > 1 && Date.now() - at > 150) slow.push(Date.now() - at);
      await new Promise((resolve) => setTimeout(resolve, 40));
    }
    const stats = stack.auth.tokenProvider.stats();
    expect(stats.waits, 'requests that waited for the IdP').to.equal(1);
    expect(stats.refreshes).to.be.at.least(3);
    expect(slow, 'requests slowed by the IdP').to.deep.equal([]);
    // The backend saw only tokens that were still valid when they arrived.
    for (const [i, seen] of stack.backend.received.entries()) {
      const issued = stack.idp.isIssued(bearer(seen.headers.authorization) ?? '');
      expect(issued, `request ${i}`).not.to.equal(undefined);
    }
    // The emulator's own record of expiry bounds every forwarded token: token requests stay near one per half-life.
    expect(stack.idp.tokenRequests.length).to.be.within(4, 6);
  });

  it('never forwards a token at or past its expiry', async () => {
    stack = await startStack({ emulator: { tokenLifetimeSeconds: 2 } });
    const forwardedAt = new Map<string, number[]>();
    stack.backend.server.on('request', (req) => {
      const token = bearer(req.headers.authorization) ?? '';
      forwardedAt.set(token, [...(forwardedAt.get(token) ?? []), Date.now()]);
    });
    const until = Date.now() + 5000;
    while (Date.now() < until) await Promise.all(Array.from({ length: 5 }, () => fetch(`${stack.gateway.url}/api/t`)));
    expect(forwardedAt.size).to.be.at.least(2);
    for (const [token, times] of forwardedAt) {
      const issued = stack.idp.isIssued(token);
      expect(issued).not.to.equal(undefined);
      for (const at of times) expect(at, 'arrival before expiry').to.be.below(issued!.expiresAt);
    }
  });
});

describe('retries and IdP failures', function () {
  this.timeout(20_000);
  let stack: Stack;
  afterEach(() => stack.close());

  it('retries 5xx and resets, and the request still succeeds', async () => {
    stack = await startStack();
    stack.idp.fail({ kind: 'status', status: 503 }, 1);
    stack.idp.fail({ kind: 'reset' }, 1);
    stack.idp.fail({ kind: 'status', status: 500 }, 1);
    const res = await fetch(`${stack.gateway.url}/api/x`);
    expect(res.status).to.equal(200);
    expect(stack.idp.tokenRequests).to.have.length(4);
    expect(stack.auth.tokenProvider.stats()).to.include({ tokenRequests: 4, failures: 0 });
  });

  it('honours Retry-After on 429 before trying again', async () => {
    stack = await startStack();
    stack.idp.fail({ kind: 'throttle', retryAfter: 1 }, 1);
    const started = Date.now();
    const res = await fetch(`${stack.gateway.url}/api/x`);
    expect(res.status).to.equal(200);
    const [first, second] = stack.idp.tokenRequests;
    expect(second!.receivedAt - first!.receivedAt).to.be.at.least(950);
    expect(Date.now() - started).to.be.below(3000);
  });

  it('answers 503 with Retry-After when the IdP stays down, within timeoutMs, then recovers by itself', async () => {
    stack = await startStack({ auth: { timeoutMs: 1500, failureCooldownMs: 1000 } });
    stack.idp.fail({ kind: 'status', status: 503 }, Infinity);
    const started = Date.now();
    const res = await request(stack.gateway.url).get('/api/x');
    expect(Date.now() - started).to.be.below(2500);
    expect(res.status).to.equal(503);
    expect(res.headers['retry-after']).to.match(/^\d+$/);
    expect(res.body).to.include({ code: 'ERR_IDP_UNAVAILABLE' });
    const attempts = stack.idp.tokenRequests.length;
    expect(attempts).to.be.within(2, 8);

    // A burst during the cooldown does not reach the IdP.
    const burst = await Promise.all(Array.from({ length: 50 }, () => fetch(`${stack.gateway.url}/api/x`)));
    expect(burst.every((r) => r.status === 503)).to.equal(true);
    expect(stack.idp.tokenRequests.length).to.equal(attempts);
    expect(stack.backend.received).to.have.length(0);

    stack.idp.heal();
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect((await fetch(`${stack.gateway.url}/api/x`)).status).to.equal(200);
    expect(stack.backend.received).to.have.length(1);
  });

  it('serves the cached token while the IdP is down, backing off refreshes instead of retrying on every request', async () => {
    stack = await startStack({ emulator: { tokenLifetimeSeconds: 6 }, auth: { timeoutMs: 500 } });
    expect((await fetch(`${stack.gateway.url}/api/x`)).status).to.equal(200);
    stack.idp.fail({ kind: 'status', status: 500 }, Infinity);
    await new Promise((resolve) => setTimeout(resolve, 3100)); // past half-life: refreshes are due
    const until = Date.now() + 1500;
    let served = 0;
    while (Date.now() < until) {
      const res = await fetch(`${stack.gateway.url}/api/x`);
      expect(res.status).to.equal(200);
      served++;
    }
    expect(served).to.be.above(10);
    const stats = stack.auth.tokenProvider.stats();
    // Each refresh may retry a few times within timeoutMs, but refreshes are spaced by back-off (at least 1 s).
    expect(stats.refreshes).to.be.within(1, 3);
    expect(stats.cacheHits).to.be.at.least(served);
    expect(stats.failures).to.be.at.least(1);
    expect(stats.lastErrorCode).to.equal('ERR_IDP_UNAVAILABLE');
    expect(stack.idp.tokenRequests.length).to.be.below(15);
  });

  it('reports the AADSTS code, trace and correlation ids to the error event and the logger, not to the client', async () => {
    const lines: string[] = [];
    const logger = { debug: (m: string) => lines.push(m), info: (m: string) => lines.push(m), warn: (m: string) => lines.push(m), error: (m: string) => lines.push(m) };
    stack = await startStack({ auth: { logger } });
    const errors: AadBackendAuthError[] = [];
    stack.auth.tokenProvider.on('error', (error) => errors.push(error));
    stack.idp.fail({ kind: 'oauth-error', error: 'invalid_client' }, 1);
    const res = await request(stack.gateway.url).get('/api/x');
    expect(res.status).to.equal(502);
    expect(JSON.stringify(res.body)).not.to.match(/AADSTS|correlation/i);
    expect(errors).to.have.length(1);
    expect(errors[0]!.oauth).to.include({ error: 'invalid_client', aadsts: 'AADSTS7000215' });
    expect(errors[0]!.oauth?.correlationId).to.match(/^[0-9a-f-]{36}$/);
    expect(lines.join('\n')).to.include('AADSTS7000215').and.include(errors[0]!.oauth!.correlationId!);
  });

  it('lets onError replace the default answer', async () => {
    stack = await startStack({
      auth: {
        onError: (error, _req, res) => {
          res.statusCode = 599;
          res.end(`custom ${error.code}`);
        },
      },
    });
    stack.idp.fail({ kind: 'html' }, 1);
    const res = await request(stack.gateway.url).get('/api/x');
    expect(res.status).to.equal(599);
    expect(res.text).to.equal('custom ERR_IDP_MALFORMED_RESPONSE');
  });
});

describe('token endpoints', () => {
  let stack: Stack;
  afterEach(() => stack.close());

  it('speaks the Entra v1 endpoint: resource= in, string numbers out', async () => {
    stack = await startStack();
    const v1 = aadBackendAuth(
      emulatorOptions(stack.idp, { authorityHost: undefined, tenantId: undefined, tokenUrl: stack.idp.tokenUrl(DEFAULT_TENANT_ID, 'v1'), resource: 'https://legacy.example.com' }),
    );
    const gateway = await startGateway([{ path: '/legacy', auth: v1, target: stack.backend.url }]);
    try {
      expect((await fetch(`${gateway.url}/legacy/x`)).status).to.equal(200);
      const sent = stack.idp.tokenRequests[0]!;
      expect(sent.path).to.match(/\/oauth2\/token$/);
      expect(sent.form).to.include({ resource: 'https://legacy.example.com', grant_type: 'client_credentials' });
      expect(sent.form.scope).to.equal(undefined);
      const lifetime = v1.tokenProvider.peek()!.expiresOnTimestamp - Date.now();
      expect(lifetime).to.be.within(3500_000, 3600_000);
    } finally {
      await v1.tokenProvider.close();
      await gateway.close();
    }
  });

  it('posts the client-credentials form the way Entra v2 expects', async () => {
    stack = await startStack();
    await fetch(`${stack.gateway.url}/api/x`);
    const sent = stack.idp.tokenRequests[0]!;
    expect(sent.method).to.equal('POST');
    expect(sent.path).to.equal(`/${DEFAULT_TENANT_ID}/oauth2/v2.0/token`);
    expect(sent.headers['content-type']).to.equal('application/x-www-form-urlencoded');
    expect(sent.form).to.include({ grant_type: 'client_credentials', scope: 'api://orders/.default' });
  });
});
