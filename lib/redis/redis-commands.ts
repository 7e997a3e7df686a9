import { withTimeout } from '../core/timing.js';
import type { AadBackendAuthLogger } from '../core/types.js';
import type { RedisSendCommand } from './types.js';

/**
 * Consecutive failures before Redis counts as unusable. One slow reply (a busy
 * event loop fires the deadline before reading the answer) must not switch the
 * fleet to local fetching; a Redis that is really gone fails this fast anyway.
 */
const FAILURES_BEFORE_UNHEALTHY = 3;

/** Replies that prove Redis is up and answering, even though the command failed. */
const ANSWERS = /^WRONGTYPE\b/;

/** A command refused without reaching Redis, because Redis failed recently. */
export class RedisUnavailableError extends Error {
  override readonly name = 'RedisUnavailableError';
}

/**
 * A failed command, carrying the client's message only: clients attach the
 * command's arguments to their errors (ioredis's `command.args`), and those
 * hold the token.
 */
export class RedisCommandError extends Error {
  override readonly name = 'RedisCommandError';
}

function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message.slice(0, 200) : 'unknown error';
}

/**
 * Sends commands with a deadline, and fails fast while Redis is unusable: after
 * a few failures in a row, commands are refused without reaching Redis until
 * `retryIntervalMs` has passed, then one command probes it. Each health change
 * is logged once.
 */
export class RedisCommands {
  readonly #send: RedisSendCommand;
  readonly #timeoutMs: number;
  readonly #retryIntervalMs: number;
  readonly #logger: AadBackendAuthLogger;
  #healthy = true;
  #failures = 0;
  #downSince = 0;
  #retryAt = 0;
  #probing = false;

  constructor(send: RedisSendCommand, timeoutMs: number, retryIntervalMs: number, logger: AadBackendAuthLogger) {
    this.#send = send;
    this.#timeoutMs = timeoutMs;
    this.#retryIntervalMs = retryIntervalMs;
    this.#logger = logger;
  }

  /** False from a few failed commands in a row until one succeeds. */
  get healthy(): boolean {
    return this.#healthy;
  }

  async send(...args: string[]): Promise<unknown> {
    const probe = !this.#healthy;
    if (probe) {
      if (this.#probing || Date.now() < this.#retryAt) throw new RedisUnavailableError('Redis is unavailable; not trying again yet');
      this.#probing = true;
    }
    try {
      const reply = await this.sendUnguarded(...args);
      this.#onAnswer();
      return reply;
    } catch (error) {
      const reason = reasonOf(error);
      if (ANSWERS.test(reason)) this.#onAnswer();
      else this.#onFailure(reason);
      throw new RedisCommandError(reason);
    } finally {
      if (probe) this.#probing = false;
    }
  }

  /** Sends with the deadline but past the health gate, and without touching health: for clean-ups. */
  async sendUnguarded(...args: string[]): Promise<unknown> {
    // Promise.resolve: a client's thenable gets the deadline too.
    return withTimeout(Promise.resolve(this.#send(...args)), this.#timeoutMs);
  }

  /** Runs a Lua script. */
  async script(source: string, keys: readonly string[], args: readonly string[]): Promise<unknown> {
    return this.send('EVAL', source, String(keys.length), ...keys, ...args);
  }

  #onAnswer(): void {
    this.#failures = 0;
    if (this.#healthy) return;
    this.#healthy = true;
    const seconds = Math.round((Date.now() - this.#downSince) / 1000);
    this.#logger.info(`Redis token cache is back after ${seconds} s; tokens are shared by the fleet again`);
  }

  #onFailure(reason: string): void {
    const now = Date.now();
    this.#retryAt = now + this.#retryIntervalMs;
    if (!this.#healthy || ++this.#failures < FAILURES_BEFORE_UNHEALTHY) return;
    this.#healthy = false;
    this.#downSince = now;
    this.#logger.warn(
      `Redis token cache unavailable (${reason}); each instance uses its own cache and fetches its own tokens until Redis is back`,
    );
  }
}
