import type { KeyObject } from 'node:crypto';
import { invalidOption } from '../core/errors.js';
import { createDefaultLogger } from '../core/logger.js';
import { definedOptions, integerOption, loggerProblem } from '../core/option-checks.js';
import type { AadBackendAuthLogger } from '../core/types.js';
import { parseEncryptionKey } from './encryption.js';
import type { RedisSendCommand, RedisSubscribe, RedisTokenCacheOptions } from './types.js';

const KNOWN = [
  'sendCommand',
  'prefix',
  'encryptionKey',
  'subscribe',
  'commandTimeoutMs',
  'retryIntervalMs',
  'pollIntervalMs',
  'logger',
] as const satisfies readonly (keyof RedisTokenCacheOptions)[];

export interface RedisTokenCacheSettings {
  readonly sendCommand: RedisSendCommand;
  readonly prefix: string;
  readonly encryptionKey: KeyObject | undefined;
  readonly subscribe: RedisSubscribe | undefined;
  readonly commandTimeoutMs: number;
  readonly retryIntervalMs: number;
  readonly pollIntervalMs: number;
  readonly logger: AadBackendAuthLogger;
}

function invalid(option: string, problem: string): Error {
  return invalidOption(option, problem, 'RedisTokenCache');
}

function integer(option: string, value: unknown, fallback: number, min: number, max: number): number {
  return integerOption(option, value, fallback, min, max, invalid);
}

function optionalFunction<T>(option: string, value: unknown): T | undefined {
  if (value === undefined || typeof value === 'function') return value as T | undefined;
  throw invalid(option, 'must be a function');
}

/** Validates the options once, naming the option at fault; keys set to `undefined` count as absent. */
export function parseRedisTokenCacheOptions(options: unknown): RedisTokenCacheSettings {
  const o = definedOptions(options, KNOWN, invalid);
  if (typeof o.sendCommand !== 'function') {
    throw invalid('sendCommand', 'must be a function that sends one raw command, e.g. (...args) => client.sendCommand(args)');
  }
  if (o.prefix !== undefined && typeof o.prefix !== 'string') throw invalid('prefix', 'must be a string');
  let encryptionKey: KeyObject | undefined;
  if (o.encryptionKey !== undefined) {
    const parsed = parseEncryptionKey(o.encryptionKey);
    if (typeof parsed === 'string') throw invalid('encryptionKey', parsed);
    encryptionKey = parsed;
  }
  const logger = o.logger as AadBackendAuthLogger | undefined;
  const badLogger = loggerProblem(logger);
  if (badLogger !== undefined) throw invalid('logger', badLogger);
  return {
    sendCommand: o.sendCommand as RedisSendCommand,
    prefix: (o.prefix as string | undefined) ?? 'aad-backend-auth:',
    encryptionKey,
    subscribe: optionalFunction<RedisSubscribe>('subscribe', o.subscribe),
    commandTimeoutMs: integer('commandTimeoutMs', o.commandTimeoutMs, 250, 1, 60_000),
    retryIntervalMs: integer('retryIntervalMs', o.retryIntervalMs, 1000, 0, 600_000),
    pollIntervalMs: integer('pollIntervalMs', o.pollIntervalMs, 50, 1, 60_000),
    logger: logger ?? createDefaultLogger('aad-backend-auth:redis'),
  };
}
