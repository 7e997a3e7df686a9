import { expect } from 'chai';
import { gunzipSync } from 'node:zlib';
import { startEntraEmulator, type EntraEmulator, type Fault } from '../../../lib/testing/index.js';
import { request, requestError, v2Form } from './client.js';

describe('Entra emulator: faults', () => {
  let emu: EntraEmulator;

  before(async () => {
    emu = await startEntraEmulator();
  });
  afterEach(() => emu.reset());
  after(() => emu.close());

  const token = () => request(emu.tokenUrl(), { form: v2Form() });

  async function expectHealthy(): Promise<void> {
    const res = await token();
    expect(res.status).to.equal(200);
    expect(emu.isIssued(String(res.json()['access_token']))).to.not.equal(undefined);
  }

  it('latency: waits, then answers normally', async () => {
    emu.fail({ kind: 'latency', ms: 200 });
    const started = Date.now();
    const res = await token();
    expect(Date.now() - started).to.be.at.least(190);
    expect(res.status).to.equal(200);
    expect(res.json()['token_type']).to.equal('Bearer');
  });

  it('status: any HTTP status, with a small JSON body by default, or the given body and headers', async () => {
    emu.fail({ kind: 'status', status: 503 });
    emu.fail({ kind: 'status', status: 502, body: 'Bad Gateway', headers: { 'x-proxy': 'edge' } });
    const first = await token();
    expect(first.status).to.equal(503);
    expect(first.json()['error']).to.equal('server_error');
    const second = await token();
    expect(second.status).to.equal(502);
    expect(second.text()).to.equal('Bad Gateway');
    expect(second.headers['x-proxy']).to.equal('edge');
    await expectHealthy();
  });

  it('throttle: 429 with Retry-After in seconds, as an HTTP-date, or none', async () => {
    const date = new Date(Date.now() + 30_000);
    emu.fail({ kind: 'throttle', retryAfter: 7 });
    emu.fail({ kind: 'throttle', retryAfter: date });
    emu.fail({ kind: 'throttle', status: 503, retryAfter: '120' });
    emu.fail({ kind: 'throttle' });
    const seconds = await token();
    expect(seconds.status).to.equal(429);
    expect(seconds.headers['retry-after']).to.equal('7');
    expect(seconds.json()['error']).to.equal('temporarily_unavailable');
    const httpDate = await token();
    expect(httpDate.headers['retry-after']).to.equal(date.toUTCString());
    const unavailable = await token();
    expect(unavailable.status).to.equal(503);
    expect(unavailable.headers['retry-after']).to.equal('120');
    const bare = await token();
    expect(bare.status).to.equal(429);
    expect(bare.headers).to.not.have.property('retry-after');
  });

  const oauthCases: [Extract<Fault, { kind: 'oauth-error' }>['error'], number, number][] = [
    ['invalid_client', 401, 7000215],
    ['invalid_scope', 400, 1002012],
    ['unauthorized_client', 400, 700016],
    ['invalid_request', 400, 90002],
    ['invalid_grant', 400, 700024],
  ];
  for (const [error, status, code] of oauthCases) {
    it(`oauth-error ${error}: ${status} with an AADSTS${code} body`, async () => {
      emu.fail({ kind: 'oauth-error', error });
      const res = await token();
      expect(res.status).to.equal(status);
      const body = res.json();
      expect(body).to.include({ error });
      expect(body['error_codes']).to.deep.equal([code]);
      expect(String(body['error_description'])).to.match(new RegExp(`^AADSTS${code}: .+ Trace ID: .+ Correlation ID: .+ Timestamp: .+Z$`));
      expect(body).to.have.keys('error', 'error_description', 'error_codes', 'timestamp', 'trace_id', 'correlation_id', 'error_uri');
    });
  }

  it('oauth-error: the status can be overridden', async () => {
    emu.fail({ kind: 'oauth-error', error: 'invalid_client', status: 400 });
    const res = await token();
    expect(res.status).to.equal(400);
    expect(res.json()['error']).to.equal('invalid_client');
  });

  it('html: 200 text/html captive portal', async () => {
    emu.fail({ kind: 'html' });
    const res = await token();
    expect(res.status).to.equal(200);
    expect(res.headers['content-type']).to.match(/^text\/html/);
    expect(res.text()).to.match(/^<!DOCTYPE html>/);
    expect(emu.issued).to.have.length(0);
  });

  it('body: arbitrary strings verbatim, objects as JSON, optional status and content type', async () => {
    emu.fail({ kind: 'body', body: '{"access_token": "abc"' });
    emu.fail({ kind: 'body', body: { token_type: 'MAC', expires_in: 'abc', access_token: 'a\r\nb' } });
    emu.fail({ kind: 'body', body: '[]', status: 201, contentType: 'text/plain' });
    expect((await token()).text()).to.equal('{"access_token": "abc"');
    const object = await token();
    expect(object.status).to.equal(200);
    expect(object.json()).to.deep.equal({ token_type: 'MAC', expires_in: 'abc', access_token: 'a\r\nb' });
    const plain = await token();
    expect(plain.status).to.equal(201);
    expect(plain.headers['content-type']).to.equal('text/plain');
    expect(plain.text()).to.equal('[]');
  });

  it('hang: never answers until the client gives up; the next request is served', async () => {
    emu.fail({ kind: 'hang' });
    const started = Date.now();
    const error = await requestError(emu.tokenUrl(), { form: v2Form(), timeoutMs: 300 });
    expect(error.message).to.equal('client timeout');
    expect(Date.now() - started).to.be.at.least(290);
    expect(emu.tokenRequests[0]!.fault).to.deep.equal({ kind: 'hang' });
    await expectHealthy();
  });

  it('reset: the connection dies before any header', async () => {
    emu.fail({ kind: 'reset' });
    const error = await requestError(emu.tokenUrl(), { form: v2Form() });
    expect(error.message).to.match(/socket hang up|ECONNRESET/);
    await expectHealthy();
  });

  it('reset-mid-body: 200 headers and part of the body, then the connection dies', async () => {
    emu.fail({ kind: 'reset-mid-body' });
    let status = 0;
    const error = await new Promise<Error>((resolve) => {
      void import('node:http').then(({ request: raw }) => {
        const req = raw(emu.tokenUrl(), { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, agent: false }, (res) => {
          status = res.statusCode ?? 0;
          res.on('data', () => {});
          res.on('error', resolve);
          res.on('aborted', () => resolve(new Error('aborted')));
          res.on('end', () => resolve(new Error(res.complete ? 'complete' : 'incomplete')));
        });
        req.on('error', resolve);
        req.end(new URLSearchParams(v2Form()).toString());
      });
    });
    expect(status).to.equal(200);
    expect(error.message).to.not.equal('complete');
    expect(emu.issued).to.have.length(0);
  });

  it('drip: sends the token body a byte at a time; a patient client gets a valid token', async () => {
    emu.fail({ kind: 'drip', intervalMs: 1 });
    const res = await token();
    expect(res.status).to.equal(200);
    expect(res.chunks).to.be.greaterThan(50);
    expect(emu.isIssued(String(res.json()['access_token']))).to.not.equal(undefined);
  });

  it('drip: at the default pace a client with a deadline gives up', async () => {
    emu.fail({ kind: 'drip' });
    const error = await requestError(emu.tokenUrl(), { form: v2Form(), timeoutMs: 500 });
    expect(error.message).to.match(/client timeout|aborted/);
  });

  it('huge: a ~5 MiB JSON body by default, or the given size', async () => {
    emu.fail({ kind: 'huge' });
    emu.fail({ kind: 'huge', bytes: 100_000 });
    const big = await token();
    expect(big.status).to.equal(200);
    expect(big.headers['content-type']).to.match(/^application\/json/);
    expect(big.body.length).to.equal(5 * 1024 * 1024);
    expect(Number(big.headers['content-length'])).to.equal(5 * 1024 * 1024);
    expect(big.json()['token_type']).to.equal('Bearer');
    const sized = await token();
    expect(sized.body.length).to.equal(100_000);
  });

  it('redirect: answers 302 (or the given status) with a Location', async () => {
    emu.fail({ kind: 'redirect', location: 'https://evil.example/token' });
    emu.fail({ kind: 'redirect', location: 'https://evil.example/token', status: 307 });
    const found = await token();
    expect(found.status).to.equal(302);
    expect(found.headers.location).to.equal('https://evil.example/token');
    expect((await token()).status).to.equal(307);
  });

  it('gzip: a real token answer with Content-Encoding: gzip', async () => {
    emu.fail({ kind: 'gzip' });
    const res = await token();
    expect(res.status).to.equal(200);
    expect(res.headers['content-encoding']).to.equal('gzip');
    const body = JSON.parse(gunzipSync(res.body).toString('utf8')) as Record<string, unknown>;
    expect(body['token_type']).to.equal('Bearer');
    expect(emu.isIssued(String(body['access_token']))).to.not.equal(undefined);
  });

  it('applies a fault to the next N token requests, FIFO, and not to discovery', async () => {
    emu.fail({ kind: 'status', status: 500 }, 2);
    emu.fail({ kind: 'status', status: 504 });
    expect((await request(emu.jwksUri)).status).to.equal(200);
    const statuses = [];
    for (let i = 0; i < 4; i += 1) statuses.push((await token()).status);
    expect(statuses).to.deep.equal([500, 500, 504, 200]);
    expect(emu.tokenRequests.map((r) => r.fault?.kind)).to.deep.equal(['status', 'status', 'status', undefined]);
  });

  it('times: Infinity lasts until heal()', async () => {
    emu.fail({ kind: 'status', status: 503 }, Infinity);
    for (let i = 0; i < 5; i += 1) expect((await token()).status).to.equal(503);
    emu.heal();
    await expectHealthy();
  });

  it('fail() rejects malformed faults and counts, naming the problem', () => {
    expect(() => emu.fail({ kind: 'nope' } as unknown as Fault)).to.throw(TypeError, /unknown fault kind "nope"/);
    expect(() => emu.fail({ kind: 'latency' } as unknown as Fault)).to.throw(TypeError, /"ms"/);
    expect(() => emu.fail({ kind: 'throttle', status: 500 } as unknown as Fault)).to.throw(TypeError, /429 or 503/);
    expect(() => emu.fail({ kind: 'oauth-error', error: 'server_error' } as unknown as Fault)).to.throw(TypeError, /"error"/);
    expect(() => emu.fail({ kind: 'hang' }, 0)).to.throw(TypeError, /"times"/);
    expect(() => emu.fail({ kind: 'hang' }, 1.5)).to.throw(TypeError, /"times"/);
  });
});
