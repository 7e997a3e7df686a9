import { invalidOption } from '../core/errors.js';
import { definedOptions, frozenCopy } from '../core/option-checks.js';
import type { AadBackendAuthOptions, ErrorHandler } from './types.js';
import { check, checkOnError, integer, parseHeaderOptions } from './checks.js';
import type { ProviderSettings } from '../provider/provider-settings.js';
import { PROVIDER_KEYS, providerSettingsOf } from './provider-options.js';
import { parseAntiForgery, type AntiForgeryRule } from '../http/anti-forgery.js';

/** How long after evicting a target's token another backend refusal may evict again. */
export const DEFAULT_PURGE_COOLDOWN_MS = 30_000;

const MIDDLEWARE_KEYS = ['header', 'removeHeaders', 'purgeOnStatus', 'purgeCooldownMs', 'onError', 'antiForgery', 'allowedOrigins'] as const satisfies readonly (keyof AadBackendAuthOptions)[];

export interface MiddlewareSettings {
  /** Lower-case header that carries the token. */
  readonly header: string;
  /** Lower-case inbound headers to delete: `authorization`, the token header and `removeHeaders`. */
  readonly removeHeaders: readonly string[];
  readonly purgeOnStatus: readonly number[];
  readonly purgeCooldownMs: number;
  readonly onError: ErrorHandler | undefined;
  /** Off unless asked for: an app token does not act on the caller's credentials. */
  readonly antiForgery: AntiForgeryRule | undefined;
}

export function parseMiddlewareOptions(options: unknown): { provider: ProviderSettings; middleware: MiddlewareSettings } {
  const o = definedOptions(options, [...PROVIDER_KEYS, ...MIDDLEWARE_KEYS], (name, problem) => invalidOption(name, problem));
  const provider = providerSettingsOf(o);
  const { header, removeHeaders } = parseHeaderOptions(o);
  const purge = o.purgeOnStatus ?? [401];
  const statusesOk = Array.isArray(purge) && purge.every((s) => Number.isInteger(s) && s >= 100 && s <= 599);
  check('purgeOnStatus', statusesOk ? undefined : 'must be an array of HTTP status codes (100 to 599)');
  checkOnError(o.onError);
  return {
    provider,
    middleware: {
      header,
      removeHeaders,
      purgeOnStatus: frozenCopy(purge as number[]),
      purgeCooldownMs: integer('purgeCooldownMs', o.purgeCooldownMs, DEFAULT_PURGE_COOLDOWN_MS, 0),
      onError: o.onError as ErrorHandler | undefined,
      antiForgery: parseAntiForgery(o.antiForgery, o.allowedOrigins, false, 'aadBackendAuth'),
    },
  };
}
