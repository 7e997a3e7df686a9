import { expect } from 'chai';
import { randomBytes, randomUUID } from 'node:crypto';
import { inspect } from 'node:util';
import { createTokenProvider } from '../../../lib/index.js';
import { RedisTokenCache } from '../../../lib/redis/index.js';
import { DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_TENANT_ID, startEntraEmulator, type EntraEmulator } from '../../../lib/testing/index.js';
import { connectRedisClient, type RedisClientKind, type TestRedisClient } from '../../helpers/redis-clients.js';
import { requireRedisServer, startRedisServer, type RedisServer } from '../../helpers/redis-server.js';
import { recordingLogger } from './recording-logger.js';

const KEY = 'https://login.microsoftonline.com|client-id|tenant|api://orders/.default';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

async function elapsed(work: () => Promise<unknown>): Promise<{ ms: number; error: unknown }> {
  const started = Date.now();
  try {
    await work();
    return { ms: Date.now() - started, error: undefined };
  } catch (error) {
    return { ms: Date.now() - started, error };
  }
}

for (const kind of ['redis', 'ioredis'] as const satisfies readonly RedisClientKind[]) {
  describe(`RedisTokenCache when Redis fails (${kind === 'redis' ? 'node-redis' : 'ioredis'})`, function () {
    this.timeout(20_000);
    let server: RedisServer;
    let admin: TestRedisClient;
    const clients: TestRedisClient[] = [];
    const connect = async (recommended = true) => {
      const client = await connectRedisClient(kind, server.url, { recommended });
      clients.push(client);
      return client;
    };

    before(async function () {
      server = await startRedisServer(requireRedisServer(this));
      admin = await connect();
    });
    afterEach(async () => {
      if (!server.running) await server.restart();
      await until(() => admin.ready(), 5000, 'the admin client to reconnect');
    });
    after(async () => {
      for (const client of clients) await client.close();
      await server?.stop();
    });

    it('bounds a slow Redis by commandTimeoutMs, logs once, and logs once again when it answers', async () => {
      const client = await connect();
      const logger = recordingLogger();
      const cache = new RedisTokenCache({ sendCommand: client.sendCommand, logger, commandTimeoutMs: 150, retryIntervalMs: 200, encryptionKey: randomBytes(32) });
      await admin.sendCommand('CLIENT', 'PAUSE', '800', 'ALL');
      const slow = await elapsed(() => Promise.any([cache.get(KEY), cache.get(KEY), cache.get(KEY)]));
      expect(slow.error, 'all three timed out').to.be.instanceOf(AggregateError);
      expect(slow.ms).to.be.within(140, 700);
      expect(cache.healthy, 'three failures in a row').to.equal(false);
      for (let i = 0; i < 20; i++) await cache.get(KEY).catch(() => undefined);
      await sleep(900);
      await until(async () => (await cache.get(KEY).then(() => true, () => false)), 3000, 'Redis to answer again');
      expect(cache.healthy).to.equal(true);
      expect(logger.lines.filter((l) => l.level === 'warn')).to.have.length(1);
      expect(logger.lines.filter((l) => l.level === 'info')).to.have.length(1);
      expect(logger.lines[0]!.message).to.match(/unavailable/);
    });

    it('fails fast while Redis is down, probing once per retryIntervalMs, and goes back to it after a restart', async () => {
      const client = await connect();
      let sent = 0;
      const logger = recordingLogger();
      const sendCommand = (...args: string[]) => {
        sent++;
        return client.sendCommand(...args);
      };
      const cache = new RedisTokenCache({ sendCommand, logger, retryIntervalMs: 300, encryptionKey: randomBytes(32) });
      await cache.set(KEY, { token: 'a.b.c', expiresOnTimestamp: Date.now() + 60_000, refreshAfterTimestamp: Date.now() + 30_000, useUntilTimestamp: Date.now() + 50_000 }, 50_000);
      await server.kill();
      for (let i = 0; i < 3; i++) {
        const failed = await elapsed(() => cache.get(KEY));
        expect(failed.error).to.be.instanceOf(Error);
        expect(failed.ms).to.be.below(1000);
        expect(cache.healthy, `after ${i + 1} failures`).to.equal(i < 2);
      }
      sent = 0;
      const burst = await elapsed(() => Promise.allSettled(Array.from({ length: 200 }, () => cache.get(KEY))));
      expect(burst.ms, 'refused without reaching Redis').to.be.below(200);
      expect(sent).to.equal(0);
      expect(await cache.lock(KEY, 1000).then(() => 'locked', () => 'refused')).to.equal('refused');

      await server.restart();
      await until(() => client.ready(), 5000, 'the client to reconnect');
      await until(async () => (await cache.get(KEY).then(() => true, () => false)), 3000, 'the cache to use Redis again');
      expect(cache.healthy).to.equal(true);
      expect(await cache.get(KEY), 'the restarted Redis is empty').to.equal(undefined);
      expect(logger.lines.map((l) => l.level)).to.deep.equal(['warn', 'info']);
    });

    it("takes back a lock whose SET timed out in the client's offline queue, so it cannot block the fleet", async () => {
      const client = await connect(false); // the client's defaults: commands wait in an offline queue
      const cache = new RedisTokenCache({ sendCommand: client.sendCommand, logger: recordingLogger(), commandTimeoutMs: 100, encryptionKey: randomBytes(32) });
      await server.kill();
      const attempt = await elapsed(() => cache.lock(KEY, 10_000));
      expect(attempt.error).to.be.instanceOf(Error);
      await server.restart();
      await until(() => client.ready(), 8000, 'the client to reconnect');
      await sleep(200); // the offline queue is flushed in order: the SET, then its release
      expect(await admin.sendCommand('EXISTS', `aad-backend-auth:lock:${KEY}`)).to.equal(0);
    });
  });
}

describe('RedisTokenCache with the token provider', function () {
  this.timeout(20_000);
  let server: RedisServer;
  let emulator: EntraEmulator;
  let admin: TestRedisClient;

  before(async function () {
    server = await startRedisServer(requireRedisServer(this));
    emulator = await startEntraEmulator();
    admin = await connectRedisClient('redis', server.url);
  });
  after(async () => {
    await admin?.close();
    await emulator?.close();
    await server?.stop();
  });

  const providerWith = (cache: RedisTokenCache, resource: string) =>
    createTokenProvider({ authorityHost: emulator.url, tenantId: DEFAULT_TENANT_ID, clientId: DEFAULT_CLIENT_ID, clientSecret: DEFAULT_CLIENT_SECRET, resource, cache });

  it('works under the least-privilege ACL of the README, with both clients', async () => {
    const password = randomUUID();
    await admin.sendCommand('ACL', 'SETUSER', 'bff', 'on', `>${password}`, 'resetkeys', '~aad-backend-auth:*', 'resetchannels', '&aad-backend-auth:*',
      '-@all', '+get', '+set', '+del', '+eval', '+publish', '+subscribe', '+ping', '+info');
    await admin.sendCommand('ACL', 'LOG', 'RESET');
    for (const kind of ['redis', 'ioredis'] as const) {
      const client = await connectRedisClient(kind, `redis://bff:${password}@127.0.0.1:${server.port}`);
      const cache = new RedisTokenCache({ sendCommand: client.sendCommand, subscribe: client.subscribe, encryptionKey: randomBytes(32) });
      const provider = providerWith(cache, `api://acl-${kind}`);
      const { token, useUntilTimestamp } = await provider.getToken();
      expect(emulator.isIssued(token)).not.to.equal(undefined);
      const lockName = `aad-backend-auth:lock:${emulator.url}|${DEFAULT_CLIENT_ID}|${DEFAULT_TENANT_ID}|api://acl-${kind}/.default`;
      await until(async () => (await admin.sendCommand('EXISTS', lockName)) === 0, 2000, 'the lock to be released');
      const keys = (await admin.sendCommand('KEYS', `aad-backend-auth:*acl-${kind}*`)) as string[];
      expect(keys, 'the token').to.have.length(1);
      expect(keys[0]).to.match(new RegExp(`^aad-backend-auth:token:${emulator.url}\\|${DEFAULT_CLIENT_ID}\\|${DEFAULT_TENANT_ID}\\|api://acl-${kind}/\\.default$`));
      const pttl = Number(await admin.sendCommand('PTTL', keys[0]!));
      expect(pttl, 'the entry dies when the token stops being usable').to.be.within(useUntilTimestamp - Date.now() - 2000, useUntilTimestamp - Date.now() + 50);
      expect(String(await admin.sendCommand('GET', keys[0]!))).not.to.include(token);
      await provider.close();
      await client.close();
    }
    expect(await admin.sendCommand('ACL', 'LOG'), 'no command was denied').to.deep.equal([]);
  });

  it('throws its own errors, without the arguments clients attach (they hold the token)', async () => {
    const password = randomUUID();
    await admin.sendCommand('ACL', 'SETUSER', 'no-eval', 'on', `>${password}`, '~*', '&*', '+@all', '-eval', '-info');
    const token = 'eyJ0eXAiOiJKV1QifQ.eyJzZWNyZXQiOiJ5ZXMifQ.dG9rZW4tdGhhdC1tdXN0LW5vdC1sZWFr';
    const value = { token, expiresOnTimestamp: Date.now() + 60_000, refreshAfterTimestamp: Date.now() + 30_000, useUntilTimestamp: Date.now() + 50_000 };
    for (const kind of ['redis', 'ioredis'] as const) {
      const client = await connectRedisClient(kind, `redis://no-eval:${password}@127.0.0.1:${server.port}`);
      const cache = new RedisTokenCache({ sendCommand: client.sendCommand, prefix: `leak-${kind}:` }); // in clear: the token is an argument
      const error = await cache.set(KEY, value, 50_000).then(() => undefined, (e: unknown) => e);
      expect(error, kind).to.be.instanceOf(Error).with.property('message').that.matches(/NOPERM/);
      expect(inspect(error, { depth: 10, showHidden: true }) + JSON.stringify(error), kind).not.to.include(token);
      await client.close();
    }
  });

  it('gets tokens, without delay, when Redis is down from the start', async () => {
    const client = await connectRedisClient('ioredis', server.url);
    const cache = new RedisTokenCache({ sendCommand: client.sendCommand, encryptionKey: randomBytes(32) });
    await server.kill();
    try {
      const provider = providerWith(cache, 'api://redis-down');
      const before = emulator.tokenRequests.length;
      const got = await elapsed(() => Promise.all(Array.from({ length: 50 }, () => provider.getToken())));
      expect(got.error).to.equal(undefined);
      expect(got.ms).to.be.below(2000);
      expect(emulator.tokenRequests.length - before, 'local single flight').to.equal(1);
      await provider.close();
    } finally {
      await client.close();
      await server.restart();
    }
  });
});
