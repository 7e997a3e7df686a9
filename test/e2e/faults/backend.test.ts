// The backend side: a 401 evicts the token it carried; a backend that always says 401 cannot make
// the gateway hammer the IdP; a backend that drops connections leaves the token cache alone.
import { expect } from 'chai';
import http from 'node:http';
import { startEntraEmulator, type EntraEmulator } from '../../../lib/testing/index.js';
import { startGateway, type Gateway } from '../../helpers/gateway.js';
import { bearerOf, fetchAnswer, startRig, type Rig } from '../../helpers/fault-rig.js';
import { watchProcess } from '../../helpers/process-watch.js';
import { close, listen } from '../../helpers/servers.js';

describe('fault matrix: the backend side', () => {
  const watch = watchProcess();
  let idp: EntraEmulator;
  let rig: Rig | undefined;

  before(async () => {
    watch.install();
    idp = await startEntraEmulator();
  });
  afterEach(async () => {
    await rig?.close();
    rig = undefined;
    idp.reset();
    expect(await watch.take(), 'unhandled rejections or uncaught exceptions').to.deep.equal([]);
  });
  after(async () => {
    await idp.close();
    watch.uninstall();
  });

  const tokensSeen = (): string[] => rig!.backend.received.map((r) => bearerOf(r.headers.authorization));

  it('a 401 evicts the token it carried: the next request gets a fresh token', async () => {
    rig = await startRig(idp);
    expect((await rig.get()).status).to.equal(200);
    rig.backend.respondWith(401);
    expect((await rig.get()).status, 'the 401 reaches the client').to.equal(401);
    await waitFor(() => rig!.auth.tokenProvider.stats().evictions === 1);
    rig.backend.respondWith(200);
    expect((await rig.get()).status).to.equal(200);
    expect((await rig.get()).status).to.equal(200);

    const [first, rejected, fresh, cached] = tokensSeen();
    expect(rejected).to.equal(first);
    expect(fresh).to.not.equal(rejected);
    expect(cached).to.equal(fresh);
    expect(idp.isIssued(fresh!)).to.not.equal(undefined);
    expect(idp.tokenRequests).to.have.length(2);
    expect(rig.logs.join('\n')).to.match(/backend rejected the token/);
  });

  it('statuses outside purgeOnStatus (403, 500) evict nothing; a custom purgeOnStatus does', async () => {
    rig = await startRig(idp);
    for (const status of [403, 500, 404]) {
      rig.backend.respondWith(status);
      expect((await rig.get()).status).to.equal(status);
    }
    expect(idp.tokenRequests).to.have.length(1);
    await rig.close();

    rig = await startRig(idp, { auth: { purgeOnStatus: [401, 403] } });
    rig.backend.respondWith(403);
    await rig.get();
    await waitFor(() => rig!.auth.tokenProvider.stats().evictions === 1);
    await rig.get();
    expect(new Set(tokensSeen()).size).to.equal(2);
  });

  it('a backend that always answers 401: at most one extra token request per purgeCooldownMs', async () => {
    const cooldownMs = 500;
    rig = await startRig(idp, { auth: { purgeCooldownMs: cooldownMs } });
    rig.backend.respondWith(401);
    const started = Date.now();
    const durationMs = 2600;
    // Four clients in a tight loop: far more 401s than cooldown windows.
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (Date.now() - started < durationMs) expect((await rig!.get()).status).to.equal(401);
      }),
    );
    const elapsed = Date.now() - started;
    const bound = 1 + Math.floor(elapsed / cooldownMs) + 1;
    const requests = idp.tokenRequests.length;
    expect(rig.backend.received.length, 'many 401s').to.be.above(50);
    expect(requests, `token requests over ${elapsed} ms`).to.be.at.most(bound);
    expect(requests, 'evictions still happen, once per cooldown').to.be.at.least(3);
    const times = idp.tokenRequests.map((r) => r.receivedAt);
    for (let i = 2; i < times.length; i++) expect(times[i]! - times[i - 1]!, 'spacing').to.be.at.least(cooldownMs - 50);
  });

  it('a backend that drops connections leaves the token cache untouched', async () => {
    const dropper = http.createServer((req) => req.socket.destroy());
    const target = await listen(dropper);
    rig = await startRig(idp);
    let gateway: Gateway | undefined;
    try {
      gateway = await startGateway([{ path: '/api', auth: rig.auth, target }]);
      const answers = [];
      for (let i = 0; i < 10; i++) answers.push(await fetchAnswer(`${gateway.url}/api/data`));
      for (const answer of answers) expect(answer.status).to.be.within(500, 504);
      const held = rig.auth.tokenProvider.peek();
      expect(held).to.not.equal(undefined);
      expect(idp.tokenRequests).to.have.length(1);
      expect(rig.auth.tokenProvider.stats()).to.include({ evictions: 0, tokenRequests: 1 });
      // The same token still goes to a healthy backend.
      expect((await rig.get()).status).to.equal(200);
      expect(rig.auth.tokenProvider.peek()).to.equal(held);
      expect(idp.tokenRequests).to.have.length(1);
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
