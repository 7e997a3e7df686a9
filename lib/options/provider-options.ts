import { invalidOption } from '../core/errors.js';
import { createDefaultLogger } from '../core/logger.js';
import { sharedMemoryTokenCache } from '../provider/memory-cache.js';
import { definedOptions, hasMethods } from '../core/option-checks.js';
import { CLIENT_CREDENTIAL_KEYS } from './client-credential-options.js';
import { parseClientCapabilities } from '../grants/token-request-claims.js';
import type { AadBackendAuthLogger, TokenCache } from '../core/types.js';
import type { TokenProviderOptions } from './types.js';
import { check, checkLogger, integer } from './checks.js';
import { isSharedStore, selectSource } from './source-options.js';
import type { ProviderSettings } from '../provider/provider-settings.js';
import { selectTarget } from './target-options.js';

export { DEFAULT_AUTHORITY_HOST } from './source-options.js';

const MAX_FAILURE_COOLDOWN_MS = 5000;

/** The provider's defaults, which `aadOnBehalfOf` uses as they are for what it does not let callers set. */
export const PROVIDER_DEFAULTS = {
  refreshWindowMs: 300_000,
  timeoutMs: 10_000,
  failureCooldownMs: 2000,
  maxKeys: 1000,
  maxConcurrentTokenRequests: 16,
} as const;
/** The longest `timeoutMs` accepted. */
export const MAX_TIMEOUT_MS = 600_000;

export const PROVIDER_KEYS = [
  'tenantId',
  'clientId',
  'clientSecret',
  'credential',
  'resource',
  'scope',
  'authorityHost',
  'tokenUrl',
  'refreshWindowMs',
  'timeoutMs',
  'cache',
  'failureCooldownMs',
  'maxKeys',
  'maxConcurrentTokenRequests',
  'logger',
  'clientCapabilities',
  ...CLIENT_CREDENTIAL_KEYS,
] as const satisfies readonly (keyof TokenProviderOptions)[];

export function parseProviderOptions(options: unknown): ProviderSettings {
  return providerSettingsOf(definedOptions(options, PROVIDER_KEYS, (name, problem) => invalidOption(name, problem)));
}

/** The provider's settings from options already checked for unknown keys (the caller's own keys included). */
export function providerSettingsOf(o: Record<string, unknown>): ProviderSettings {
  if (o.cache !== undefined) check('cache', hasMethods(o.cache, ['get', 'set', 'delete']) ? undefined : 'must be a TokenCache (get, set and delete)');
  checkLogger(o.logger);
  const { source, endpoint } = selectSource(o);
  const target = selectTarget(o, source, endpoint);
  const logger = (o.logger as AadBackendAuthLogger | undefined) ?? createDefaultLogger();
  if (o.credential !== undefined && o.clientId === undefined && isSharedStore(o.cache)) {
    logger.warn('a "credential" with a shared "cache" and no "clientId": cache keys name only this credential object, so other processes cannot share its tokens');
  }
  return {
    source,
    target,
    refreshWindowMs: integer('refreshWindowMs', o.refreshWindowMs, PROVIDER_DEFAULTS.refreshWindowMs, 0),
    timeoutMs: integer('timeoutMs', o.timeoutMs, PROVIDER_DEFAULTS.timeoutMs, 1, MAX_TIMEOUT_MS),
    failureCooldownMs: integer('failureCooldownMs', o.failureCooldownMs, PROVIDER_DEFAULTS.failureCooldownMs, 0, MAX_FAILURE_COOLDOWN_MS),
    maxKeys: integer('maxKeys', o.maxKeys, PROVIDER_DEFAULTS.maxKeys, 1),
    maxConcurrentTokenRequests: integer('maxConcurrentTokenRequests', o.maxConcurrentTokenRequests, PROVIDER_DEFAULTS.maxConcurrentTokenRequests, 1, 1000),
    cache: (o.cache as TokenCache | undefined) ?? sharedMemoryTokenCache(),
    logger,
    clientCapabilities: parseClientCapabilities(o.clientCapabilities),
  };
}
