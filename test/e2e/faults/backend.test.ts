// The backend side: a 401 evicts the token it carried; a backend that always says 401 cannot make
// the gateway hammer the IdP; a backend that drops connections leaves the token cache alone.
import { expect } from 'chai';
import http from 'node:http';
import { startGateway, type Gateway } from '../../helpers/gateway.js';
import { bearerOf, fetchAnswer, startRig, useFaultMatrix } from '../../helpers/fault-rig.js';
import { close, listen } from '../../helpers/servers.js';

describe('fault matrix: the backend side', () => {
  const env = useFaultMatrix();

  const tokensSeen = (): string[] => env.rig!.backend.received.map((r) => bearerOf(r.headers.authorization));

  it('a 401 evicts the token it carried: the next request gets a fresh token', async () => {
    env.rig = await startRig(env.idp);
    expect((await env.rig.get()).status).to.equal(200);
    env.rig.backend.respondWith(401);
    expect((await env.rig.get()).status, 'the 401 reaches the client').to.equal(401);
    await waitFor(() => env.rig!.auth.tokenProvider.stats().evictions === 1);
    env.rig.backend.respondWith(200);
    expect((await env.rig.get()).status).to.equal(200);
    expect((await env.rig.get()).status).to.equal(200);

    const [first, rejected, fresh, cached] = tokensSeen();
    expect(rejected).to.equal(first);
    expect(fresh).to.not.equal(rejected);
    expect(cached).to.equal(fresh);
    expect(env.idp.isIssued(fresh!)).to.not.equal(undefined);
    expect(env.idp.tokenRequests).to.have.length(2);
    expect(env.rig.logs.join('\n')).to.match(/backend rejected the token/);
  });

  it('statuses outside purgeOnStatus (403, 500) evict nothing; a custom purgeOnStatus does', async () => {
    env.rig = await startRig(env.idp);
    for (const status of [403, 500, 404]) {
      env.rig.backend.respondWith(status);
      expect((await env.rig.get()).status).to.equal(status);
    }
    expect(env.idp.tokenRequests).to.have.length(1);
    await env.rig.close();

    env.rig = await startRig(env.idp, { auth: { purgeOnStatus: [401, 403] } });
    env.rig.backend.respondWith(403);
    await env.rig.get();
    await waitFor(() => env.rig!.auth.tokenProvider.stats().evictions === 1);
    await env.rig.get();
    expect(new Set(tokensSeen()).size).to.equal(2);
  });

  it('a backend that always answers 401: at most one extra token request per purgeCooldownMs', async () => {
    const cooldownMs = 500;
    env.rig = await startRig(env.idp, { auth: { purgeCooldownMs: cooldownMs } });
    env.rig.backend.respondWith(401);
    const started = Date.now();
    const durationMs = 2600;
    // Four clients in a tight loop: far more 401s than cooldown windows.
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (Date.now() - started < durationMs) expect((await env.rig!.get()).status).to.equal(401);
      }),
    );
    const elapsed = Date.now() - started;
    const bound = 1 + Math.floor(elapsed / cooldownMs) + 1;
    const requests = env.idp.tokenRequests.length;
    expect(env.rig.backend.received.length, 'many 401s').to.be.above(50);
    expect(requests, `token requests over ${elapsed} ms`).to.be.at.most(bound);
    expect(requests, 'evictions still happen, once per cooldown').to.be.at.least(3);
    const times = env.idp.tokenRequests.map((r) => r.receivedAt);
    for (let i = 2; i < times.length; i++) expect(times[i]! - times[i - 1]!, 'spacing').to.be.at.least(cooldownMs - 50);
  });

  it('a backend that drops connections leaves the token cache untouched', async () => {
    const dropper = http.createServer((req) => req.socket.destroy());
    const target = await listen(dropper);
    env.rig = await startRig(env.idp);
    let gateway: Gateway | undefined;
    try {
      gateway = await startGateway([{ path: '/api', auth: env.rig.auth, target }]);
      const answers = [];
      for (let i = 0; i < 10; i++) answers.push(await fetchAnswer(`${gateway.url}/api/data`));
      for (const answer of answers) expect(answer.status).to.be.within(500, 504);
      const held = env.rig.auth.tokenProvider.peek();
      expect(held).to.not.equal(undefined);
      expect(env.idp.tokenRequests).to.have.length(1);
      expect(env.rig.auth.tokenProvider.stats()).to.include({ evictions: 0, tokenRequests: 1 });
      // The same token still goes to a healthy backend.
      expect((await env.rig.get()).status).to.equal(200);
      expect(env.rig.auth.tokenProvider.peek()).to.equal(held);
      expect(env.idp.tokenRequests).to.have.length(1);
    } finally {
      await gateway?.close();
      await close(dropper);
    }
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 2000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
