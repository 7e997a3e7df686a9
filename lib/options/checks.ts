import { invalidOption } from '../core/errors.js';
import { frozenCopy, integerOption, loggerProblem } from '../core/option-checks.js';
import { HEADER_NAME, tokenHeaderProblem } from '../core/validation.js';

/** Throws `ERR_INVALID_OPTION` naming `option` when `problem` is set. */
export function check(option: string, problem: string | undefined): void {
  if (problem !== undefined) throw invalidOption(option, problem);
}

export function nonEmptyString(option: string, value: unknown): string {
  check(option, typeof value === 'string' && value.trim() !== '' ? undefined : 'must be a non-empty string');
  return value as string;
}

export function integer(option: string, value: unknown, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  return integerOption(option, value, fallback, min, max, (name, problem) => invalidOption(name, problem));
}

/** A lower-cased HTTP header name. */
export function headerName(option: string, value: unknown): string {
  check(option, typeof value === 'string' && HEADER_NAME.test(value) ? undefined : 'must be a valid HTTP header name');
  return (value as string).toLowerCase();
}

/**
 * The token header and the inbound headers to delete, lower-cased: `authorization`, the
 * token header and `removeHeaders`, so a client's own credential never reaches the backend.
 */
export function parseHeaderOptions(o: Record<string, unknown>): { header: string; removeHeaders: readonly string[] } {
  check('header', o.header === undefined ? undefined : tokenHeaderProblem(o.header));
  const header = ((o.header as string | undefined) ?? 'authorization').toLowerCase();
  check('removeHeaders', o.removeHeaders === undefined || Array.isArray(o.removeHeaders) ? undefined : 'must be an array of header names');
  const removed = ((o.removeHeaders as unknown[] | undefined) ?? []).map((name) => headerName('removeHeaders', name));
  return { header, removeHeaders: frozenCopy([...new Set(['authorization', header, ...removed])]) };
}

/** The `logger` option, when given, has the four methods of a logger. */
export function checkLogger(value: unknown): void {
  check('logger', loggerProblem(value));
}

/** The `onError` option, when given, is an Express error handler. */
export function checkOnError(value: unknown): void {
  check('onError', value === undefined || typeof value === 'function' ? undefined : 'must be a function (err, req, res, next)');
}
