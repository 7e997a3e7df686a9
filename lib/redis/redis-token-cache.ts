import { randomUUID } from 'node:crypto';
import { inspect } from 'node:util';
import { sleep } from '../core/timing.js';
import { parseJsonObject } from '../core/json.js';
import type { StoredToken, TokenCache, TokenCacheLock } from '../core/types.js';
import { decrypt, encrypt } from './encryption.js';
import { parseRedisTokenCacheOptions, type RedisTokenCacheSettings } from './options.js';
import { RedisCommands, RedisUnavailableError } from './redis-commands.js';
import { RELEASE_LOCK, SET_AND_PUBLISH } from './scripts.js';
import type { RedisTokenCacheOptions } from './types.js';

export const PLAINTEXT_WARNING_CODE = 'AAD_BACKEND_AUTH_REDIS_PLAINTEXT';
// Documented as once per process: the warning is about the process's configuration, not one store.
let plaintextWarned = false;

function warnPlaintextOnce(): void {
  if (plaintextWarned) return;
  plaintextWarned = true;
  process.emitWarning('RedisTokenCache stores access tokens in clear; set "encryptionKey" (32 bytes) to encrypt them with AES-256-GCM', {
    code: PLAINTEXT_WARNING_CODE,
  });
}

function asText(reply: unknown): string | undefined {
  if (typeof reply === 'string') return reply;
  return Buffer.isBuffer(reply) ? reply.toString('utf8') : undefined;
}

/** A lock in Redis; its value is known only to its holder, so it releases only its own. */
class RedisLock implements TokenCacheLock {
  readonly #commands: RedisCommands;
  readonly #name: string;
  readonly #value: string;

  constructor(commands: RedisCommands, name: string, value: string) {
    this.#commands = commands;
    this.#name = name;
    this.#value = value;
  }

  async release(): Promise<void> {
    await this.#commands.script(RELEASE_LOCK, [this.#name], [this.#value]);
  }
}

/**
 * A {@link TokenCache} in Redis, shared by a fleet: tokens, a lock so that one
 * instance at a time asks the IdP, and (with `subscribe`) news of new tokens.
 * Works with any client through `sendCommand`. A failing or slow Redis makes
 * calls fail fast; the provider then treats them as misses and carries on alone.
 *
 * Keys: `<prefix>token:<key>` (the provider's cache key, see `targetKey` in `sources/token-source.ts`) and
 * `<prefix>lock:…`; channel `<prefix>updates`.
 *
 * @example node-redis
 * const client = createClient({ url: process.env.REDIS_URL, disableOfflineQueue: true });
 * client.on('error', () => {}); // the cache logs health changes itself
 * await client.connect();
 * const cache = new RedisTokenCache({ sendCommand: (...args) => client.sendCommand(args), encryptionKey: process.env.TOKEN_CACHE_KEY });
 * app.use('/api/orders', aadBackendAuth({ tenantId, clientId, clientSecret, resource: 'api://orders', cache }), proxy);
 *
 * @example ioredis
 * const client = new Redis(process.env.REDIS_URL, { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
 * client.on('error', () => {});
 * const cache = new RedisTokenCache({ sendCommand: (command, ...args) => client.call(command, ...args), encryptionKey });
 */
export class RedisTokenCache implements TokenCache {
  readonly #settings: RedisTokenCacheSettings;
  readonly #commands: RedisCommands;
  readonly #channel: string;
  readonly #waiters = new Map<string, Set<() => void>>();
  #subscribed = false;

  constructor(options: RedisTokenCacheOptions) {
    this.#settings = parseRedisTokenCacheOptions(options);
    const { sendCommand, commandTimeoutMs, retryIntervalMs, logger, prefix, subscribe } = this.#settings;
    this.#commands = new RedisCommands(sendCommand, commandTimeoutMs, retryIntervalMs, logger);
    this.#channel = `${prefix}updates`;
    if (this.#settings.encryptionKey === undefined) warnPlaintextOnce();
    if (subscribe !== undefined) this.#subscribe(subscribe);
  }

  /**
   * False once 3 Redis commands in a row have failed, until one succeeds. For metrics and
   * alerts, not for readiness: the instance keeps serving without Redis.
   */
  get healthy(): boolean {
    return this.#commands.healthy;
  }

  async get(key: string): Promise<StoredToken | undefined> {
    const name = this.#tokenKey(key);
    let reply: unknown;
    try {
      reply = await this.#commands.send('GET', name);
    } catch (error) {
      // Something else under our key is a corrupt entry, not an outage.
      if (error instanceof Error && error.message.startsWith('WRONGTYPE')) return undefined;
      throw error;
    }
    const text = asText(reply);
    return text === undefined ? undefined : this.#decode(text, name);
  }

  async set(key: string, value: StoredToken, ttlMs: number): Promise<void> {
    const ttl = Math.floor(ttlMs);
    if (!(ttl >= 1)) return;
    const name = this.#tokenKey(key);
    const { token, expiresOnTimestamp, refreshAfterTimestamp, useUntilTimestamp } = value;
    const json = JSON.stringify({ token, expiresOnTimestamp, refreshAfterTimestamp, useUntilTimestamp });
    const encryptionKey = this.#settings.encryptionKey;
    const stored = encryptionKey === undefined ? json : encrypt(json, encryptionKey, name);
    await this.#commands.script(SET_AND_PUBLISH, [name], [stored, String(ttl), this.#channel, key]);
  }

  /** Whether values are encrypted (`encryptionKey` set). `aadUserToken` refuses a cache that does not encrypt. */
  get encrypted(): boolean {
    return this.#settings.encryptionKey !== undefined;
  }

  /**
   * A record of a cookie session's refresh (a hand-off of rotated tokens, a dead refresh token),
   * under `<prefix>session:<key>`, encrypted like tokens. `undefined` for a miss or a corrupt value.
   */
  async getRecord(key: string): Promise<string | undefined> {
    const name = this.#recordKey(key);
    const text = asText(await this.#commands.send('GET', name));
    const encryptionKey = this.#settings.encryptionKey;
    if (text === undefined) return undefined;
    return encryptionKey === undefined ? text : decrypt(text, encryptionKey, name);
  }

  /** Stores a record for `ttlMs` and tells waiting instances (`waitForUpdate(key)`), in one round trip. */
  async setRecord(key: string, value: string, ttlMs: number): Promise<void> {
    const ttl = Math.floor(ttlMs);
    if (!(ttl >= 1)) return;
    const name = this.#recordKey(key);
    const encryptionKey = this.#settings.encryptionKey;
    const stored = encryptionKey === undefined ? value : encrypt(value, encryptionKey, name);
    await this.#commands.script(SET_AND_PUBLISH, [name], [stored, String(ttl), this.#channel, key]);
  }

  async delete(key: string): Promise<void> {
    await this.#commands.send('DEL', this.#tokenKey(key));
  }

  async lock(key: string, ttlMs: number): Promise<TokenCacheLock | undefined> {
    const name = `${this.#settings.prefix}lock:${key}`;
    const value = randomUUID();
    let reply: unknown;
    try {
      reply = await this.#commands.send('SET', name, value, 'NX', 'PX', String(Math.max(1, Math.ceil(ttlMs))));
    } catch (error) {
      // A client's offline queue may still run the SET later: queue the release behind it.
      if (!(error instanceof RedisUnavailableError)) {
        this.#commands.sendUnguarded('EVAL', RELEASE_LOCK, '1', name, value).catch(() => undefined);
      }
      throw error;
    }
    return asText(reply) === 'OK' ? new RedisLock(this.#commands, name, value) : undefined;
  }

  /** With `subscribe`: resolves when another instance stores `key`, or after `timeoutMs`. Without: after `pollIntervalMs`. */
  async waitForUpdate(key: string, timeoutMs: number): Promise<void> {
    if (!this.#subscribed) {
      await sleep(Math.min(this.#settings.pollIntervalMs, timeoutMs));
      return;
    }
    await new Promise<void>((resolve) => {
      let waiters = this.#waiters.get(key);
      if (waiters === undefined) this.#waiters.set(key, (waiters = new Set()));
      const done = (): void => {
        clearTimeout(timer);
        waiters.delete(done);
        if (waiters.size === 0 && this.#waiters.get(key) === waiters) this.#waiters.delete(key);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, timeoutMs));
      timer.unref();
      waiters.add(done);
    });
  }

  /** What `util.inspect` shows: the settings, never a key or a token. */
  [inspect.custom](): string {
    const { prefix, encryptionKey, subscribe } = this.#settings;
    const fields = { prefix, encrypted: encryptionKey !== undefined, pubsub: subscribe !== undefined, healthy: this.healthy };
    return `RedisTokenCache ${inspect(fields)}`;
  }

  #recordKey(key: string): string {
    return `${this.#settings.prefix}session:${key}`;
  }

  #tokenKey(key: string): string {
    return `${this.#settings.prefix}token:${key}`;
  }

  #decode(text: string, name: string): StoredToken | undefined {
    const key = this.#settings.encryptionKey;
    const json = key === undefined ? text : decrypt(text, key, name);
    if (json === undefined) return undefined;
    // The provider checks every field; anything but an object is a miss here already.
    return parseJsonObject(json) as StoredToken | undefined;
  }

  #subscribe(subscribe: NonNullable<RedisTokenCacheSettings['subscribe']>): void {
    const onMessage = (message: unknown): void => {
      const waiters = this.#waiters.get(String(message));
      if (waiters !== undefined) for (const done of [...waiters]) done();
    };
    const subscribed = (): void => {
      this.#subscribed = true;
    };
    const failed = (error: unknown): void => {
      const reason = error instanceof Error ? error.message.slice(0, 200) : 'unknown error';
      this.#settings.logger.warn(`Redis token cache could not subscribe to ${this.#channel} (${reason}); waiting instances poll instead`);
    };
    try {
      Promise.resolve(subscribe(this.#channel, onMessage)).then(subscribed, failed);
    } catch (error) {
      failed(error);
    }
  }
}
