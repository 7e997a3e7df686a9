// A fleet sharing its tokens through Redis: three instances (here three providers in one process, each with
// its own Redis connections and RedisTokenCache, as three processes would have) start cold at the same time,
// and Entra ID sees one token request. Run: REDIS_URL=redis://127.0.0.1:6379 npx tsx examples/redis-fleet.ts
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { createTokenProvider, type TokenProvider } from 'aad-backend-auth';
import { RedisTokenCache } from 'aad-backend-auth/redis';
import { DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_TENANT_ID, startEntraEmulator } from 'aad-backend-auth/testing';

const redisUrl = process.env.REDIS_URL;
if (redisUrl === undefined) {
  console.error('Set REDIS_URL, e.g. REDIS_URL=redis://127.0.0.1:6379');
  process.exit(2);
}

const idp = await startEntraEmulator();
const encryptionKey = randomBytes(32); // in production: the same key from your secret store on every instance
const prefix = `example:${randomBytes(4).toString('hex')}:`; // one prefix per app identity and environment

async function startInstance(): Promise<{ provider: TokenProvider; stop(): Promise<void> }> {
  const client = new Redis(redisUrl!, { enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: true });
  client.on('error', () => {});
  await client.connect();
  const subscriber = client.duplicate({ enableOfflineQueue: true }); // pub/sub needs its own connection
  subscriber.on('error', () => {});
  const cache = new RedisTokenCache({
    sendCommand: (command, ...args) => client.call(command, ...args),
    subscribe: (channel, onMessage) => {
      subscriber.on('message', (from: string, message: string) => from === channel && onMessage(message));
      return subscriber.subscribe(channel);
    },
    encryptionKey,
    prefix,
  });
  const provider = createTokenProvider({
    tenantId: DEFAULT_TENANT_ID,
    clientId: DEFAULT_CLIENT_ID,
    clientSecret: DEFAULT_CLIENT_SECRET,
    authorityHost: idp.url,
    resource: 'api://orders',
    cache,
  });
  return {
    provider,
    async stop() {
      await provider.close();
      client.disconnect();
      subscriber.disconnect();
    },
  };
}

const fleet = await Promise.all([startInstance(), startInstance(), startInstance()]);
const tokens = await Promise.all(fleet.map((instance) => instance.provider.getToken()));
console.log(`instances: ${fleet.length}, distinct tokens: ${new Set(tokens.map((t) => t.token)).size}, token requests to Entra ID: ${idp.tokenRequests.length}`);

await Promise.all(fleet.map((instance) => instance.stop()));
await idp.close();
