import { expect } from 'chai';
import request from 'supertest';
import { startExample, type RunningExample } from '../../example-app/example.js';
import { DEFAULT_CLIENT_SECRET } from '../../lib/testing/index.js';

describe('the example app: /metrics (Prometheus) and /_bff/chart', function () {
  this.timeout(20_000);
  let example: RunningExample;
  before(async () => {
    example = await startExample({ mode: 'local', port: 0, host: '127.0.0.1' });
  });
  after(() => example.close());

  it("shows the emulator's token requests and the BFF's cache hits in the Prometheus format", async () => {
    for (let i = 0; i < 3; i++) expect((await request(example.url).get('/api/whoami')).status).to.equal(200);
    const res = await request(example.url).get('/metrics');
    expect(res.status).to.equal(200);
    expect(res.headers['content-type']).to.match(/^text\/plain/);
    const text = res.text;
    const value = (pattern: RegExp): number => Number(pattern.exec(text)?.[1]);
    expect(value(/^aad_backend_auth_token_requests_total\{outcome="success",aad_backend_auth_grant="client_credentials"[^}]*\} (\d+)$/m)).to.equal(1);
    expect(value(/^aad_backend_auth_cache_hits_total\{[^}]*\} (\d+)$/m)).to.be.at.least(2);
    expect(value(/^aad_backend_auth_token_waits_total\{[^}]*\} (\d+)$/m)).to.be.at.least(1);
    expect(value(/^example_entra_emulator_token_requests_total\{[^}]*\} (\d+)$/m)).to.be.at.least(1);
    expect(value(/^aad_backend_auth_token_expires_in\{aad_backend_auth_target="[0-9a-f-]+ api:\/\/aad-backend-auth-example\/\.default"[^}]*\} ([\d.]+)$/m)).to.be.within(100, 120);
    expect(text).to.match(/^aad_backend_auth_token_request_duration_bucket\{[^}]*le="0\.25"\} 1$/m);
    expect(text).to.not.include(DEFAULT_CLIENT_SECRET);
    for (const issued of example.emulator!.issued) expect(text).to.not.include(issued.token);
  });

  it('keeps the chart history: samples of the remaining lifetime and a mark for the new token', async () => {
    const res = await request(example.url).get('/_bff/chart');
    expect(res.status).to.equal(200);
    const body = res.body as { samples: { secondsLeft: number | null }[]; marks: { kind: string }[] };
    expect(body.samples.some((s) => s.secondsLeft !== null && s.secondsLeft > 100)).to.equal(true);
    expect(body.marks.map((m) => m.kind)).to.include('refresh');
  });
});
