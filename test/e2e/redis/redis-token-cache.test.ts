import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { inspect } from 'node:util';
import { RedisTokenCache, type RedisTokenCacheOptions } from '../../../lib/redis/index.js';
import type { StoredToken } from '../../../lib/core/types.js';
import { connectRedisClient, type RedisClientKind, type TestRedisClient } from '../../helpers/redis-clients.js';
import { sharedOrOwnRedis } from '../../helpers/redis-server.js';
import { recordingLogger } from './recording-logger.js';

const TOKEN = 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ0ZXN0In0.c2VjcmV0LXRva2VuLXZhbHVl';

function storedToken(lifetimeMs = 60_000, token = TOKEN): StoredToken {
  const now = Date.now();
  return { token, expiresOnTimestamp: now + lifetimeMs, refreshAfterTimestamp: now + lifetimeMs / 2, useUntilTimestamp: now + lifetimeMs - 1000 };
}

for (const kind of ['redis', 'ioredis'] as const satisfies readonly RedisClientKind[]) {
  describe(`RedisTokenCache with ${kind === 'redis' ? 'node-redis' : 'ioredis'} against a real redis-server`, function () {
    let redis: { url: string; stop(): Promise<void> };
    let client: TestRedisClient;
    let other: TestRedisClient;
    let prefix: string;
    const key = 'https://login.microsoftonline.com|client-id|contoso.onmicrosoft.com|api://orders/.default';
    const raw = (...args: string[]) => client.sendCommand(...args);
    const cache = (options: Partial<RedisTokenCacheOptions> = {}) =>
      new RedisTokenCache({ sendCommand: client.sendCommand, prefix, logger: recordingLogger(), ...options });

    before(async function () {
      redis = await sharedOrOwnRedis(this);
      client = await connectRedisClient(kind, redis.url);
      other = await connectRedisClient(kind === 'redis' ? 'ioredis' : 'redis', redis.url);
    });
    beforeEach(() => {
      prefix = `test-${randomUUID()}:`;
    });
    after(async () => {
      await client?.close();
      await other?.close();
      await redis?.stop();
    });

    it('stores a token under <prefix>token:<key> with a PX TTL of ttlMs, and reads it back', async () => {
      const value = storedToken();
      const store = cache({ encryptionKey: randomBytes(32) });
      await store.set(key, value, 5000);
      expect(await store.get(key)).to.deep.equal(value);
      const pttl = Number(await raw('PTTL', `${prefix}token:${key}`));
      expect(pttl).to.be.within(4000, 5000);
      expect(await store.get('https://login.microsoftonline.com|client-id|other-tenant|api://orders/.default')).to.equal(undefined);
    });

    it('stores nothing when the token is already past its use-until time, and deletes', async () => {
      const store = cache({ encryptionKey: randomBytes(32) });
      await store.set(key, storedToken(), 0);
      expect(await raw('EXISTS', `${prefix}token:${key}`)).to.equal(0);
      await store.set(key, storedToken(), 5000);
      await store.delete(key);
      expect(await store.get(key)).to.equal(undefined);
    });

    it('encrypts: the value in Redis holds neither the token nor its JSON, and another client with the key reads it', async () => {
      const encryptionKey = randomBytes(32);
      await cache({ encryptionKey }).set(key, storedToken(), 5000);
      const stored = String(await raw('GET', `${prefix}token:${key}`));
      expect(stored).to.match(/^aes256gcm:/);
      expect(stored).not.to.include(TOKEN);
      expect(stored).not.to.include(TOKEN.slice(0, 20));
      expect(stored).not.to.include('expiresOnTimestamp');
      const reader = new RedisTokenCache({ sendCommand: other.sendCommand, prefix, encryptionKey: encryptionKey.toString('base64') });
      expect((await reader.get(key))?.token).to.equal(TOKEN);
      const hexReader = new RedisTokenCache({ sendCommand: other.sendCommand, prefix, encryptionKey: encryptionKey.toString('hex') });
      expect((await hexReader.get(key))?.token).to.equal(TOKEN);
    });

    it('treats undecryptable entries as a miss: another key, tampered, moved to another name, or in clear', async () => {
      const encryptionKey = randomBytes(32);
      const store = cache({ encryptionKey });
      await store.set(key, storedToken(), 5000);
      const name = `${prefix}token:${key}`;
      const sealed = String(await raw('GET', name));
      expect(await cache({ encryptionKey: randomBytes(32) }).get(key)).to.equal(undefined);

      const bytes = Buffer.from(sealed.slice('aes256gcm:'.length), 'base64');
      bytes[bytes.length - 1]! ^= 1;
      await raw('SET', name, `aes256gcm:${bytes.toString('base64')}`);
      expect(await store.get(key)).to.equal(undefined);

      const otherKey = key.replace('contoso', 'fabrikam');
      await raw('SET', `${prefix}token:${otherKey}`, sealed);
      expect(await store.get(otherKey), 'the key name is authenticated').to.equal(undefined);

      await raw('SET', name, JSON.stringify(storedToken()));
      expect(await store.get(key), 'a clear entry is refused when encryption is on').to.equal(undefined);
      await raw('SET', name, sealed);
      expect(await cache().get(key), 'an encrypted entry is a miss without the key').to.equal(undefined);
      expect((await store.get(key))?.token).to.equal(TOKEN);
    });

    it('treats corrupt entries as a miss without marking Redis unhealthy', async () => {
      const logger = recordingLogger();
      const store = cache({ logger });
      const name = `${prefix}token:${key}`;
      for (const corrupt of ['not json', '42', 'null', '"a string"', 'aes256gcm:AAAA']) {
        await raw('SET', name, corrupt);
        expect(await store.get(key), corrupt).to.equal(undefined);
      }
      await raw('DEL', name);
      await raw('HSET', name, 'token', TOKEN);
      expect(await store.get(key), 'a hash under the key').to.equal(undefined);
      expect(store.healthy).to.equal(true);
      expect(logger.lines.filter((l) => l.level === 'warn')).to.deep.equal([]);
    });

    it('locks with SET NX PX and releases only its own lock (compare-and-delete)', async () => {
      const a = cache();
      const b = new RedisTokenCache({ sendCommand: other.sendCommand, prefix });
      const lockName = `${prefix}lock:${key}`;
      const first = await a.lock(key, 300);
      expect(first).not.to.equal(undefined);
      expect(await b.lock(key, 300), 'held by a').to.equal(undefined);
      expect(Number(await raw('PTTL', lockName))).to.be.within(1, 300);
      await first!.release();
      expect(await raw('EXISTS', lockName)).to.equal(0);

      const stale = await a.lock(key, 100);
      await new Promise((resolve) => setTimeout(resolve, 150));
      const current = await b.lock(key, 5000);
      expect(current, 'the stale lock expired').not.to.equal(undefined);
      await stale!.release();
      expect(await raw('EXISTS', lockName), "a late release leaves the new holder's lock alone").to.equal(1);
      await current!.release();
      expect(await raw('EXISTS', lockName)).to.equal(0);
    });

    it('wakes waiters through pub/sub as soon as another instance stores the key', async () => {
      const waiter = cache({ subscribe: client.subscribe });
      const writer = new RedisTokenCache({ sendCommand: other.sendCommand, prefix });
      await new Promise((resolve) => setTimeout(resolve, 100)); // the subscription settles
      const started = Date.now();
      const woken = waiter.waitForUpdate(key, 5000);
      setTimeout(() => void writer.set(key, storedToken(), 5000), 50);
      await woken;
      expect(Date.now() - started).to.be.below(2000);

      const idleStart = Date.now();
      await waiter.waitForUpdate(key, 200);
      expect(Date.now() - idleStart, 'no update: the timeout').to.be.at.least(190);
    });

    it('without subscribe, waiting is a short sleep of pollIntervalMs', async () => {
      const started = Date.now();
      await cache({ pollIntervalMs: 30 }).waitForUpdate(key, 5000);
      expect(Date.now() - started).to.be.within(25, 1000);
    });

    it('never shows its key material through util.inspect or JSON.stringify', async () => {
      const encryptionKey = randomBytes(32);
      const store = cache({ encryptionKey: encryptionKey.toString('hex') });
      const lock = await store.lock(key, 1000);
      const shown = inspect(store, { depth: 5, showHidden: true }) + JSON.stringify(store) + inspect(lock, { showHidden: true }) + JSON.stringify(lock);
      expect(shown).to.include(prefix);
      expect(shown).to.include('encrypted: true');
      expect(shown).not.to.include(encryptionKey.toString('hex'));
      expect(shown).not.to.include(encryptionKey.toString('base64'));
      await lock?.release();
    });
  });
}

describe('RedisTokenCache options', function () {
  const sendCommand = async () => null;

  it('refuses a bad encryptionKey, naming the option and never echoing the key', function () {
    const shortKey = randomBytes(16).toString('hex');
    for (const encryptionKey of [shortKey, 'not a key!', randomBytes(31), 42]) {
      let error: unknown;
      try {
        new RedisTokenCache({ sendCommand, encryptionKey: encryptionKey as string });
      } catch (thrown) {
        error = thrown;
      }
      expect(error).to.have.property('code', 'ERR_INVALID_OPTION');
      expect((error as Error).message).to.include('"encryptionKey"');
      expect((error as Error).message).not.to.include(shortKey);
    }
  });

  it('refuses a missing sendCommand, unknown options (with a hint) and bad numbers', function () {
    expect(() => new RedisTokenCache({} as RedisTokenCacheOptions)).to.throw(/"sendCommand" must be a function/);
    expect(() => new RedisTokenCache({ sendCommand, encryptionkey: 'x' } as RedisTokenCacheOptions)).to.throw(/Did you mean "encryptionKey"/);
    expect(() => new RedisTokenCache({ sendCommand, commandTimeoutMs: 0 })).to.throw(/"commandTimeoutMs" must be an integer/);
    expect(() => new RedisTokenCache({ sendCommand, subscribe: 'yes' as never })).to.throw(/"subscribe" must be a function/);
  });

  it('warns once per process, with a code, when tokens would be stored in clear', function () {
    this.timeout(15_000);
    const script = [
      "import { RedisTokenCache } from './lib/redis/index.ts';",
      'const sendCommand = async () => null;',
      'new RedisTokenCache({ sendCommand });',
      'new RedisTokenCache({ sendCommand, prefix: "b:" });',
      `new RedisTokenCache({ sendCommand, encryptionKey: '${'ab'.repeat(32)}' });`,
    ].join('\n');
    const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', cwd: process.cwd() });
    expect(run.status, run.stderr).to.equal(0);
    const warnings = run.stderr.split('\n').filter((line) => line.includes('AAD_BACKEND_AUTH_REDIS_PLAINTEXT'));
    expect(warnings).to.have.length(1);
    expect(warnings[0]).to.include('encryptionKey');
  });
});
