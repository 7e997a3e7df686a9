// Fault matrix, transport rows: the IdP cannot be reached, cuts the connection, or never finishes.
import { expect } from 'chai';
import { setTimeout as sleep } from 'node:timers/promises';
import v8 from 'node:v8';
import vm from 'node:vm';
import { startEntraEmulator, type Fault } from '../../../lib/testing/index.js';
import { ROW_TIMEOUT_MS, expectProblem, expectRecovery, startRig, useFaultMatrix } from '../../helpers/fault-rig.js';
import { refusedPort } from '../../helpers/hostile-servers.js';

describe('fault matrix: transport', () => {
  const env = useFaultMatrix();

  it('connection refused: 503, retried within timeoutMs, then recovers once the IdP listens', async () => {
    const port = await refusedPort();
    env.rig = await startRig(env.idp, { auth: { authorityHost: `http://127.0.0.1:${port}` } });
    const answer = await env.rig.get();
    expectProblem(answer, 503, 'ERR_IDP_UNAVAILABLE');
    expect(answer.ms).to.be.below(ROW_TIMEOUT_MS + 1000);
    expect(env.rig.backend.received).to.have.length(0);
    expect(env.rig.auth.tokenProvider.stats().tokenRequests, 'retried').to.be.above(1);
    expect(env.rig.logs.join('\n')).to.match(/ECONNREFUSED/);

    const revived = await startEntraEmulator({ port });
    try {
      await expectRecovery(revived, env.rig);
    } finally {
      await revived.close();
    }
  });

  const rows: { name: string; fault: Fault }[] = [
    { name: 'connection reset before the headers', fault: { kind: 'reset' } },
    { name: 'connection reset mid-body', fault: { kind: 'reset-mid-body' } },
    { name: 'no answer at all (hang)', fault: { kind: 'hang' } },
    { name: 'a slow-drip body', fault: { kind: 'drip', intervalMs: 50 } },
    { name: 'an answer slower than timeoutMs', fault: { kind: 'latency', ms: ROW_TIMEOUT_MS * 3 } },
  ];
  for (const { name, fault } of rows) {
    it(`${name}: 503 within timeoutMs, nothing forwarded, then recovers`, async () => {
      env.rig = await startRig(env.idp);
      env.idp.fail(fault, Infinity);
      const answer = await env.rig.get();
      expectProblem(answer, 503, 'ERR_IDP_UNAVAILABLE');
      expect(answer.ms, 'bounded by timeoutMs').to.be.below(ROW_TIMEOUT_MS + 1000);
      expect(env.rig.backend.received).to.have.length(0);
      expect(env.idp.tokenRequests.length).to.be.at.least(1);
      await expectRecovery(env.idp, env.rig);
    });
  }

  it('a hang while the garbage collector runs: the timeout still fires (503), and the gateway recovers', async () => {
    // Node 20's AbortSignal.any() lets a source AbortSignal.timeout() be collected, and then it never fires
    // (nodejs/node#57736): one GC during a hung token request would wedge the flight for good.
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    env.rig = await startRig(env.idp);
    env.idp.fail({ kind: 'hang' }, Infinity);
    const pending = env.rig.get();
    await sleep(100);
    gc();
    gc();
    const answer = await pending;
    expectProblem(answer, 503, 'ERR_IDP_UNAVAILABLE');
    expect(answer.ms).to.be.below(ROW_TIMEOUT_MS + 1000);
    await expectRecovery(env.idp, env.rig);
  });

  it('a slow answer within timeoutMs is waited for: 200', async () => {
    env.rig = await startRig(env.idp);
    env.idp.fail({ kind: 'latency', ms: ROW_TIMEOUT_MS / 4 });
    const answer = await env.rig.get();
    expect(answer.status).to.equal(200);
    expect(env.rig.backend.received).to.have.length(1);
  });

  it('a connection reset once is retried inside the same request: 200', async () => {
    env.rig = await startRig(env.idp);
    env.idp.fail({ kind: 'reset' }, 1);
    const answer = await env.rig.get();
    expect(answer.status).to.equal(200);
    expect(env.idp.tokenRequests).to.have.length(2);
  });

  it('a hang does not hold the gateway: other requests are answered in time, then all recover', async () => {
    env.rig = await startRig(env.idp);
    env.idp.fail({ kind: 'hang' }, Infinity);
    const answers = await Promise.all(Array.from({ length: 20 }, () => env.rig!.get()));
    for (const answer of answers) {
      expectProblem(answer, 503, 'ERR_IDP_UNAVAILABLE');
      expect(answer.ms).to.be.below(ROW_TIMEOUT_MS + 1000);
    }
    // Single flight: 20 waiting callers shared one token request at a time.
    expect(env.idp.tokenRequests.length).to.be.below(10);
    expect(env.rig.backend.received).to.have.length(0);
    await expectRecovery(env.idp, env.rig);
  });
});
