import { isIP } from 'node:net';
import leven from 'leven';

/**
 * Option checks shared by every entry point (the middleware, `RedisTokenCache`,
 * the emulator): each names the option at fault through the caller's `fail`.
 */
export type OptionFailure = (option: string, problem: string) => Error;

/** Drops keys set to `undefined` and refuses unknown keys, with a "did you mean" hint. */
export function definedOptions(options: unknown, known: readonly string[], fail: OptionFailure): Record<string, unknown> {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) throw fail('options', 'must be an object');
  const result: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options)) {
    if (value === undefined) continue;
    if (!known.includes(key)) throw fail(key, `is not an option.${didYouMean(key, known)}`);
    result[key] = value;
  }
  return result;
}

function didYouMean(key: string, known: readonly string[]): string {
  if (known.length === 0) return '';
  const guess = known.reduce((best, name) => (leven(key, name) < leven(key, best) ? name : best), known[0]!);
  return leven(key.toLowerCase(), guess.toLowerCase()) <= 3 ? ` Did you mean "${guess}"?` : '';
}

/** An integer option within bounds, or its default when absent. */
export function integerOption(option: string, value: unknown, fallback: number, min: number, max: number, fail: OptionFailure): number {
  if (value === undefined) return fallback;
  if (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max) return value;
  throw fail(option, `must be an integer from ${min} to ${max}`);
}

export function hasMethods(value: unknown, methods: readonly string[]): boolean {
  return typeof value === 'object' && value !== null && methods.every((m) => typeof (value as Record<string, unknown>)[m] === 'function');
}

/** What is wrong with a `logger` option, or `undefined` when it is absent or fits. */
export function loggerProblem(value: unknown): string | undefined {
  return value === undefined || hasMethods(value, ['debug', 'info', 'warn', 'error']) ? undefined : 'must have debug, info, warn and error methods';
}

/** A copy the caller can no longer change: option values are read once, at start-up. */
export function frozenCopy<T>(values: readonly T[]): readonly T[] {
  return Object.freeze([...values]);
}

/** `localhost`, 127.0.0.0/8 and ::1, with or without IPv6 brackets. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase();
  if (host === 'localhost') return true;
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  if (isIP(bare) === 6) return bare === '::1' || bare === '0:0:0:0:0:0:0:1';
  return false;
}
