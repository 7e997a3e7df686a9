import { expect } from 'chai';
import request from 'supertest';
import { EXAMPLE_ROLE, startExample, type RunningExample } from '../../example-app/example.js';
import { DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET } from '../../lib/testing/index.js';

describe('example-app: a route handler that aggregates two backend calls with createAuthFetch', () => {
  let example: RunningExample;
  const backendLog: string[] = [];
  beforeEach(async () => {
    backendLog.length = 0;
    example = await startExample({ mode: 'local', port: 0, host: '127.0.0.1' }, { log: (source, line) => source === 'backend' && backendLog.push(line) });
  });
  afterEach(() => example.close());

  it('GET /_bff/summary calls /whoami and /orders with the shared token and answers one page model', async () => {
    const res = await request(example.url).get('/_bff/summary');
    expect(res.status).to.equal(200);
    expect(res.body.caller).to.deep.equal({ appid: DEFAULT_CLIENT_ID, roles: [EXAMPLE_ROLE] });
    expect(res.body.orderCount).to.equal(3);
    expect(backendLog.map((line) => line.split(' →')[0]).sort()).to.deep.equal(['GET /orders', 'GET /whoami']);
    // The proxy and the route handler share one provider: still one token request.
    expect((await request(example.url).get('/api/whoami')).status).to.equal(200);
    const status = (await request(example.url).get('/_bff/status')).body;
    expect(status.stats.tokenRequests).to.equal(1);
    expect(JSON.stringify(res.body)).not.to.include(DEFAULT_CLIENT_SECRET);
    expect(JSON.stringify(res.body)).not.to.include(example.emulator!.issued[0]!.token);
  });

  it('answers problem+json with the middleware\'s code when no token can be had, and calls nothing', async () => {
    await request(example.url).post('/_bff/demo/idp-refuses').set('content-type', 'application/json').send('{}');
    const res = await request(example.url).get('/_bff/summary');
    expect(res.status).to.equal(502);
    expect(res.headers['content-type']).to.match(/^application\/problem\+json/);
    expect(JSON.parse(res.text)).to.include({ code: 'ERR_IDP_REJECTED' });
    expect(backendLog).to.deep.equal([]);
  });
});
