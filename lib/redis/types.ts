import type { AadBackendAuthLogger } from '../core/types.js';

/**
 * Sends one raw Redis command and resolves with its reply, so any client works:
 * - `redis` (node-redis 4 and later): `(...args) => client.sendCommand(args)`
 * - `ioredis`: `(command, ...args) => client.call(command, ...args)`
 */
export type RedisSendCommand = (...args: string[]) => Promise<unknown>;

/**
 * Subscribes a dedicated subscriber connection to `channel` and calls
 * `onMessage` with each message published on it. Called once, at construction.
 * - `redis`: `const sub = client.duplicate(); await sub.connect();`
 *   then `(channel, onMessage) => sub.subscribe(channel, onMessage)`
 * - `ioredis`: `const sub = client.duplicate();` then
 *   `(channel, onMessage) => { sub.on('message', (ch, m) => ch === channel && onMessage(m)); return sub.subscribe(channel); }`
 */
export type RedisSubscribe = (channel: string, onMessage: (message: string) => void) => unknown;

/** Options of {@link RedisTokenCache}. Only `sendCommand` is required. */
export interface RedisTokenCacheOptions {
  /** Sends one raw command; see {@link RedisSendCommand}. Required. */
  sendCommand: RedisSendCommand;
  /**
   * Prepended to every key and to the update channel. Give each app identity
   * (and each environment) sharing a Redis its own prefix.
   * @default 'aad-backend-auth:'
   */
  prefix?: string | undefined;
  /**
   * 32 bytes (a Buffer, or a string of 64 hex digits or of base64) that turns on
   * AES-256-GCM encryption of the stored tokens, authenticated with the key name.
   * Every instance of the fleet needs the same key. Without one, tokens are stored
   * in clear and a warning (`AAD_BACKEND_AUTH_REDIS_PLAINTEXT`) is emitted once.
   * @default undefined (tokens stored in clear)
   */
  encryptionKey?: Uint8Array | string | undefined;
  /**
   * Lets instances waiting for another's token hear of it at once, through pub/sub
   * on a dedicated connection. Without it they poll every `pollIntervalMs`.
   * @default undefined (polling)
   */
  subscribe?: RedisSubscribe | undefined;
  /**
   * A command that takes longer fails (the provider counts it as a cache miss).
   * @default 250
   */
  commandTimeoutMs?: number | undefined;
  /**
   * Once 3 commands in a row have failed, commands fail at once, without reaching
   * Redis, for this long; then one command probes whether Redis is back.
   * @default 1000
   */
  retryIntervalMs?: number | undefined;
  /**
   * How long a waiting instance sleeps between looks at Redis when `subscribe` is not set.
   * @default 50
   */
  pollIntervalMs?: number | undefined;
  /**
   * Where the two health lines go: one `warn` when Redis becomes unusable, one
   * `info` when it is back. Never tokens, keys or the encryption key.
   * @default the `debug` module, namespace `aad-backend-auth:redis`
   */
  logger?: AadBackendAuthLogger | undefined;
}
