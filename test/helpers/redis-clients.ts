// Both supported Redis clients, wired to RedisTokenCache the way the README says.
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import type { RedisSendCommand, RedisSubscribe } from '../../lib/redis/index.js';

export type RedisClientKind = 'redis' | 'ioredis';

export interface TestRedisClient {
  readonly kind: RedisClientKind;
  readonly sendCommand: RedisSendCommand;
  readonly subscribe: RedisSubscribe;
  /** Whether the command connection is up. */
  ready(): boolean;
  close(): Promise<void>;
}

export interface ClientChoice {
  /**
   * `true`: the settings the README recommends (no offline queue, quick reconnects).
   * `false`: the client's own defaults, offline queue included.
   * @default true
   */
  recommended?: boolean;
}

const quickReconnect = (retries: number): number => Math.min(50 * (retries + 1), 500);

async function connectNodeRedis(url: string, recommended: boolean): Promise<TestRedisClient> {
  const client = createClient(recommended ? { url, disableOfflineQueue: true, socket: { reconnectStrategy: quickReconnect, connectTimeout: 1000 } } : { url });
  client.on('error', () => undefined); // without a listener node-redis crashes the process when Redis goes away
  await client.connect();
  const subscriber = client.duplicate();
  subscriber.on('error', () => undefined);
  await subscriber.connect();
  return {
    kind: 'redis',
    sendCommand: (...args) => client.sendCommand(args),
    subscribe: (channel, onMessage) => subscriber.subscribe(channel, onMessage),
    ready: () => client.isReady,
    async close() {
      client.destroy();
      subscriber.destroy();
    },
  };
}

async function connectIoRedis(url: string, recommended: boolean): Promise<TestRedisClient> {
  const options = recommended ? { enableOfflineQueue: false, maxRetriesPerRequest: 1, retryStrategy: quickReconnect } : {};
  const client = new Redis(url, { ...options, lazyConnect: true });
  client.on('error', () => undefined);
  await client.connect();
  // The subscriber keeps its offline queue, so SUBSCRIBE waits for a connection rather than failing.
  const subscriber = new Redis(url, { retryStrategy: quickReconnect, lazyConnect: true });
  subscriber.on('error', () => undefined);
  await subscriber.connect();
  return {
    kind: 'ioredis',
    sendCommand: (command, ...args) => client.call(command, ...args),
    subscribe: (channel, onMessage) => {
      subscriber.on('message', (from: string, message: string) => {
        if (from === channel) onMessage(message);
      });
      return subscriber.subscribe(channel);
    },
    ready: () => client.status === 'ready',
    async close() {
      client.disconnect();
      subscriber.disconnect();
    },
  };
}

export function connectRedisClient(kind: RedisClientKind, url: string, choice: ClientChoice = {}): Promise<TestRedisClient> {
  const recommended = choice.recommended ?? true;
  return kind === 'redis' ? connectNodeRedis(url, recommended) : connectIoRedis(url, recommended);
}
