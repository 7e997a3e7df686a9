import { invalidOption } from '../errors.js';
import { integerOption } from '../option-checks.js';
import { HEADER_NAME } from '../validation.js';

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
