// Two BFF replicas (two gateways, two RedisTokenCache clients: node-redis with pub/sub, ioredis
// polling) on one real redis-server, each holding stale copies of one user's session, against an
// IdP with rotating refresh tokens and reuse detection.
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { aadUserToken } from '../../lib/adapters/user-token.js';
import { RedisTokenCache } from '../../lib/redis/index.js';
import type { UserTokens } from '../../lib/subjects/session/types.js';
import { startGateway, type Gateway } from '../helpers/gateway.js';
import { connectRedisClient, type TestRedisClient } from '../helpers/redis-clients.js';
import { requireRedisServer, startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { startRefreshIdp, type RefreshIdp } from '../helpers/refresh-idp.js';
import { startBackend, type Backend } from '../helpers/servers.js';
import { testSessions, type TestSessions } from '../helpers/session-store.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('aadUserToken: two replicas sharing Redis, with stale session copies', function () {
  this.timeout(60_000);
  let server: RedisServer;
  let clients: TestRedisClient[] = [];
  let backend: Backend;
  let idp: RefreshIdp;
  const gateways: Gateway[] = [];

  before(async function () {
    this.timeout(30_000);
    server = await startRedisServer(requireRedisServer(this));
    clients = [await connectRedisClient('redis', server.url), await connectRedisClient('ioredis', server.url)];
    backend = await startBackend();
  });
  afterEach(async () => {
    await Promise.all(gateways.splice(0).map((g) => g.close()));
    await idp?.close();
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await backend?.close();
    await server?.stop();
  });

  const caches = (prefix: string, encryptionKey: string) => [
    new RedisTokenCache({ sendCommand: clients[0]!.sendCommand, subscribe: clients[0]!.subscribe, encryptionKey, prefix }),
    new RedisTokenCache({ sendCommand: clients[1]!.sendCommand, encryptionKey, prefix }),
  ];
  const call = async (gateway: Gateway) => {
    const response = await fetch(`${gateway.url}/api/me`, { headers: { 'x-session': 's', 'x-csrf': '1' } });
    await response.arrayBuffer();
    return response.status;
  };

  it('20 refresh cycles with reuse detection on: 0 families revoked, 0 failed requests, one redemption per cycle', async () => {
    idp = await startRefreshIdp({ accessTtlSeconds: 0.4, latencyMs: 20, reuseDetection: true });
    const [cacheA, cacheB] = caches(`user-fleet-${randomBytes(4).toString('hex')}:`, randomBytes(32).toString('hex'));
    const signedIn = idp.signIn('alice');
    const sessions: TestSessions[] = [testSessions({ async: true }), testSessions()];
    for (const s of sessions) s.store.set('s', { ...signedIn, expiresAt: Date.now() - 1 });
    for (const [i, cache] of [cacheA!, cacheB!].entries()) {
      const auth = aadUserToken(idp.userTokenOptions(sessions[i]!, { cache, timeoutMs: 5000 }));
      gateways.push(await startGateway([{ path: '/api', auth, target: backend.url }]));
    }
    const history: UserTokens[] = [];
    const statuses: number[] = [];
    for (let cycle = 0; cycle < 20; cycle++) {
      // Each replica's copy falls behind in turn: one or two rotations old, as a store read before another replica's write.
      const behind = sessions[cycle % 2]!;
      const older = history.at(-1 - (cycle % 3 === 0 ? 1 : 0));
      if (older !== undefined) behind.store.set('s', { ...older, expiresAt: Date.now() - 1 });
      const burst = await Promise.all(gateways.flatMap((g) => Array.from({ length: 10 }, () => call(g))));
      statuses.push(...burst);
      for (const s of sessions) history.push(s.store.get('s')!);
      await sleep(450);
    }
    expect(statuses.filter((s) => s !== 200), 'failed requests').to.deep.equal([]);
    expect(idp.revokedFamilies, 'revoked families').to.equal(0);
    expect(idp.calls.filter((c) => c.status !== 200)).to.deep.equal([]);
    // One redemption per cycle at most (a copy two rotations behind follows the chain, it does not redeem).
    expect(idp.calls.length).to.be.within(20, 20);
    expect(new Set(idp.calls.map((c) => c.refreshToken)).size).to.equal(idp.calls.length);
  });

  it('stores user tokens, hand-offs and refresh tokens only encrypted', async () => {
    idp = await startRefreshIdp();
    const prefix = `user-enc-${randomBytes(4).toString('hex')}:`;
    const [cache] = caches(prefix, randomBytes(32).toString('hex'));
    const sessions = testSessions();
    const signedIn = idp.signIn('alice');
    sessions.store.set('s', { ...signedIn, expiresAt: Date.now() - 1 });
    const auth = aadUserToken(idp.userTokenOptions(sessions, { cache: cache! }));
    gateways.push(await startGateway([{ path: '/api', auth, target: backend.url }]));
    expect(await call(gateways[0]!)).to.equal(200);
    const keys = (await clients[0]!.sendCommand('KEYS', `${prefix}*`)) as string[];
    expect(keys.some((k) => k.startsWith(`${prefix}session:handoff|`))).to.equal(true);
    expect(keys.some((k) => k.startsWith(`${prefix}token:`))).to.equal(true);
    const secrets = [signedIn.refreshToken, sessions.store.get('s')!.refreshToken, idp.issued[0]!.token];
    for (const key of keys) {
      expect(key, 'a key').to.not.match(/rt\.|at\./);
      const value = String(await clients[0]!.sendCommand('GET', key));
      expect(value.startsWith('aes256gcm:'), key).to.equal(true);
      for (const secret of secrets) expect(value).to.not.include(secret);
    }
  });

  it('refuses a RedisTokenCache without encryptionKey at start-up', () => {
    const plain = new RedisTokenCache({ sendCommand: clients[0]!.sendCommand, prefix: 'plain:' });
    const session = testSessions();
    expect(() => aadUserToken({ tokenUrl: 'http://127.0.0.1:1/token', clientId: 'c', clientSecret: 's', session, cache: plain }))
      .to.throw(/aadUserToken: "cache" is a RedisTokenCache without "encryptionKey"/)
      .with.property('code', 'ERR_INVALID_OPTION');
  });
});
