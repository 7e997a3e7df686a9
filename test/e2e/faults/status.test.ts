// Fault matrix, status rows: 5xx and 429 (Retry-After in seconds, as a date, and too long to wait),
// and the failure memory that keeps a burst from hammering a failing IdP without keeping the gateway down.
import { expect } from 'chai';
import { setTimeout as sleep } from 'node:timers/promises';
import { startEntraEmulator } from '../../../lib/testing/index.js';
import { ROW_TIMEOUT_MS, expectProblem, expectRecovery, startRig, useFaultMatrix } from '../../helpers/fault-rig.js';

describe('fault matrix: 5xx and 429', () => {
  const env = useFaultMatrix();

  for (const status of [500, 502, 503, 504]) {
    it(`${status}: retried with back-off within timeoutMs, then 503 with Retry-After; recovers`, async () => {
      env.rig = await startRig(env.idp);
      env.idp.fail({ kind: 'status', status }, Infinity);
      const answer = await env.rig.get();
      expectProblem(answer, 503, 'ERR_IDP_UNAVAILABLE');
      expect(answer.ms).to.be.below(ROW_TIMEOUT_MS + 1000);
      expect(env.rig.backend.received).to.have.length(0);
      const attempts = env.idp.tokenRequests;
      expect(attempts.length, 'retried').to.be.within(2, 8);
      // Back-off: the attempts spread out instead of firing in a tight loop.
      expect(attempts.at(-1)!.receivedAt - attempts[0]!.receivedAt).to.be.at.least(100);
      await expectRecovery(env.idp, env.rig);
    });
  }

  it(`a 503 that carries Retry-After passes it on to the client`, async () => {
    env.rig = await startRig(env.idp);
    env.idp.fail({ kind: 'throttle', status: 503, retryAfter: 30 }, Infinity);
    const answer = await env.rig.get();
    expectProblem(answer, 503, 'ERR_IDP_UNAVAILABLE');
    expect(answer.headers.get('retry-after')).to.equal('30');
    expect(env.idp.tokenRequests, 'no wait beyond timeoutMs').to.have.length(1);
  });

  it('429 with Retry-After in seconds, honoured within timeoutMs: the retry waits, then 200', async () => {
    env.rig = await startRig(env.idp, { auth: { timeoutMs: 4000 } });
    env.idp.fail({ kind: 'throttle', retryAfter: 1 }, 1);
    const answer = await env.rig.get();
    expect(answer.status, answer.text).to.equal(200);
    const [first, second] = env.idp.tokenRequests;
    expect(second!.receivedAt - first!.receivedAt).to.be.at.least(950);
  });

  it('429 with Retry-After in seconds, still throttled: 503 with that Retry-After; recovers', async () => {
    env.rig = await startRig(env.idp, { auth: { timeoutMs: 1500 } });
    env.idp.fail({ kind: 'throttle', retryAfter: 1 }, Infinity);
    const answer = await env.rig.get();
    expectProblem(answer, 503, 'ERR_IDP_UNAVAILABLE');
    expect(answer.headers.get('retry-after')).to.equal('1');
    expect(env.idp.tokenRequests).to.have.length(2);
    const [first, second] = env.idp.tokenRequests;
    expect(second!.receivedAt - first!.receivedAt, 'waited as asked').to.be.at.least(950);
    expect(env.rig.backend.received).to.have.length(0);
    await sleep(1000); // the IdP asked for a second; the failure is remembered that long
    await expectRecovery(env.idp, env.rig);
  });

  for (const [name, retryAfter] of [
    ['0', 0],
    ['an HTTP date in the past', new Date(Date.now() - 60_000)],
  ] as const) {
    it(`429 with Retry-After ${name}, still throttled: retried with back-off, not in a tight loop; 503`, async () => {
      env.rig = await startRig(env.idp);
      env.idp.fail({ kind: 'throttle', retryAfter }, Infinity);
      expectProblem(await env.rig.get(), 503, 'ERR_IDP_UNAVAILABLE');
      const attempts = env.idp.tokenRequests;
      expect(attempts.length).to.be.within(2, 8);
      for (let i = 1; i < attempts.length; i++) expect(attempts[i]!.receivedAt - attempts[i - 1]!.receivedAt).to.be.at.least(90);
      await expectRecovery(env.idp, env.rig);
    });
  }

  it('429 with Retry-After as an HTTP date: honoured, then 200', async () => {
    env.rig = await startRig(env.idp, { auth: { timeoutMs: 5000 } });
    env.idp.fail({ kind: 'throttle', retryAfter: new Date(Date.now() + 2000) }, 1);
    const answer = await env.rig.get();
    expect(answer.status, answer.text).to.equal(200);
    const [first, second] = env.idp.tokenRequests;
    expect(second!.receivedAt - first!.receivedAt).to.be.at.least(900);
  });

  it('429 with Retry-After as an HTTP date, still throttled: 503 with Retry-After in seconds', async () => {
    env.rig = await startRig(env.idp);
    env.idp.fail({ kind: 'throttle', retryAfter: new Date(Date.now() + 3000) }, Infinity);
    const answer = await env.rig.get();
    expectProblem(answer, 503, 'ERR_IDP_UNAVAILABLE');
    expect(Number(answer.headers.get('retry-after'))).to.be.within(1, 3);
    expect(env.rig.backend.received).to.have.length(0);
  });

  it('429 with a Retry-After longer than the request can wait: 503 at once; the IdP is tried again within 5 s', async () => {
    env.rig = await startRig(env.idp);
    env.idp.fail({ kind: 'throttle', retryAfter: 120 }, Infinity);
    const answer = await env.rig.get();
    expectProblem(answer, 503, 'ERR_IDP_UNAVAILABLE');
    expect(answer.headers.get('retry-after')).to.equal('120');
    expect(answer.ms, 'does not sit out a wait it cannot finish').to.be.below(ROW_TIMEOUT_MS / 2);
    expect(env.idp.tokenRequests).to.have.length(1);

    // The failure is remembered, but never longer than 5 s: poll until the gateway recovers by itself.
    env.idp.heal();
    const healedAt = Date.now();
    let recoveredAfter: number | undefined;
    while (Date.now() - healedAt < 7000) {
      const next = await env.rig.get();
      if (next.status === 200) {
        recoveredAfter = Date.now() - healedAt;
        break;
      }
      expectProblem(next, 503, 'ERR_IDP_UNAVAILABLE');
      await sleep(100);
    }
    expect(recoveredAfter, 'recovered').to.be.a('number');
    expect(recoveredAfter!).to.be.within(3500, 5600);
    // While remembered, the failure was served from memory: one more token request, the one that recovered.
    expect(env.idp.tokenRequests).to.have.length(2);
    expect(env.rig.backend.received).to.have.length(1);
  });

  it('throttled during refresh with a usable token: served stale, refreshes at most once a second up to expiry', async () => {
    // Tokens live 3 s: refreshed from 1.5 s on, used until 2.7 s. The IdP asks for 120 s, more than is left.
    const shortIdp = await startEntraEmulator({ tokenLifetimeSeconds: 3 });
    try {
      env.rig = await startRig(shortIdp, { auth: { timeoutMs: 500 } });
      expect((await env.rig.get()).status).to.equal(200);
      const useUntil = env.rig.auth.tokenProvider.peek()!.useUntilTimestamp;
      shortIdp.fail({ kind: 'throttle', retryAfter: 120 }, Infinity);
      while (Date.now() < useUntil - 50) {
        expect((await env.rig.get()).status, 'a usable token is always served').to.equal(200);
        await sleep(2);
      }
      const refreshes = shortIdp.tokenRequests.slice(1).map((r) => r.receivedAt);
      expect(refreshes.length, 'a refresh was tried').to.be.at.least(1);
      expect(refreshes.length, 'not a tight loop near expiry').to.be.at.most(3);
      for (let i = 1; i < refreshes.length; i++) expect(refreshes[i]! - refreshes[i - 1]!).to.be.at.least(900);
    } finally {
      await env.rig?.close();
      env.rig = undefined;
      await shortIdp.close();
    }
  });

  it('default failure memory (failureCooldownMs 2000): a burst during an outage costs one flight; recovery within 5 s', async () => {
    env.rig = await startRig(env.idp, { auth: { failureCooldownMs: undefined } });
    env.idp.fail({ kind: 'status', status: 500 }, Infinity);
    expectProblem(await env.rig.get(), 503, 'ERR_IDP_UNAVAILABLE');
    const afterFirst = env.idp.tokenRequests.length;
    const burst = await Promise.all(Array.from({ length: 50 }, () => env.rig!.get()));
    for (const answer of burst) {
      expectProblem(answer, 503, 'ERR_IDP_UNAVAILABLE');
      expect(answer.ms).to.be.below(500);
    }
    expect(env.idp.tokenRequests.length, 'the burst was answered from the failure memory').to.equal(afterFirst);

    env.idp.heal();
    const healedAt = Date.now();
    let status = 0;
    while (status !== 200 && Date.now() - healedAt < 6000) {
      status = (await env.rig.get()).status;
      if (status !== 200) await sleep(100);
    }
    expect(status).to.equal(200);
    expect(Date.now() - healedAt).to.be.below(5000);
  });
});
