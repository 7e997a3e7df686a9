import type { IncomingMessage } from 'node:http';
import leven from 'leven';
import { AadBackendAuthError, invalidOption } from './errors.js';
import { createDefaultLogger } from './logger.js';
import { MemoryTokenCache, sharedMemoryTokenCache } from './memory-cache.js';
import { createClientSecretSource } from './sources/client-secret.js';
import { createCredentialSource } from './sources/credential.js';
import type { TokenSource, TokenTarget } from './sources/token-source.js';
import type { AadBackendAuthLogger, AadBackendAuthOptions, ErrorHandler, TokenCache, TokenProviderOptions } from './types.js';
import {
  HEADER_NAME,
  endpointProblem,
  isEntraV1TokenUrl,
  resourceProblem,
  resourceToScope,
  scopeToResource,
  scopesProblem,
  tenantProblem,
  toScopeList,
} from './validation.js';

export const DEFAULT_AUTHORITY_HOST = 'https://login.microsoftonline.com';
const MAX_FAILURE_COOLDOWN_MS = 5000;

const PROVIDER_KEYS = [
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
  'logger',
] as const satisfies readonly (keyof TokenProviderOptions)[];
const MIDDLEWARE_KEYS = ['header', 'removeHeaders', 'purgeOnStatus', 'purgeCooldownMs', 'onError'] as const satisfies readonly (keyof AadBackendAuthOptions)[];

/** Picks the target of a request; throws `ERR_INVALID_TARGET` (400) for a bad per-request value. */
export type TargetSelector = TokenTarget | ((req: IncomingMessage) => TokenTarget);

export interface ProviderSettings {
  readonly source: TokenSource;
  readonly target: TargetSelector;
  readonly refreshWindowMs: number;
  readonly timeoutMs: number;
  readonly failureCooldownMs: number;
  readonly maxKeys: number;
  readonly cache: TokenCache;
  readonly logger: AadBackendAuthLogger;
}

export interface MiddlewareSettings {
  /** Lower-case header that carries the token. */
  readonly header: string;
  /** Lower-case inbound headers to delete: `authorization`, the token header and `removeHeaders`. */
  readonly removeHeaders: readonly string[];
  readonly purgeOnStatus: readonly number[];
  readonly purgeCooldownMs: number;
  readonly onError: ErrorHandler | undefined;
}

/** Drops keys set to `undefined`, refuses unknown keys with a "did you mean" hint. */
export function definedOptions(options: unknown, known: readonly string[]): Record<string, unknown> {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw invalidOption('options', 'must be an object');
  }
  const result: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options)) {
    if (value === undefined) continue;
    if (!known.includes(key)) {
      const guess = known.reduce((best, name) => (leven(key, name) < leven(key, best) ? name : best), known[0]!);
      const hint = leven(key.toLowerCase(), guess.toLowerCase()) <= 3 ? ` Did you mean "${guess}"?` : '';
      throw invalidOption(key, `is not an option.${hint}`);
    }
    result[key] = value;
  }
  return result;
}

export function check(option: string, problem: string | undefined): void {
  if (problem !== undefined) throw invalidOption(option, problem);
}

export function nonEmptyString(option: string, value: unknown): string {
  check(option, typeof value === 'string' && value.trim() !== '' ? undefined : 'must be a non-empty string');
  return value as string;
}

export function integer(option: string, value: unknown, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback;
  const ok = typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
  check(option, ok ? undefined : `must be an integer from ${min} to ${max}`);
  return value as number;
}

export function hasMethods(value: unknown, methods: readonly string[]): boolean {
  return typeof value === 'object' && value !== null && methods.every((m) => typeof (value as Record<string, unknown>)[m] === 'function');
}

function selectSource(o: Record<string, unknown>): { source: TokenSource; endpoint: 'entra-v2' | 'entra-v1' | 'generic' } {
  if (o.credential !== undefined) {
    check('credential', hasMethods(o.credential, ['getToken']) ? undefined : 'must be a TokenCredential (an object with getToken)');
    for (const conflicting of ['clientSecret', 'authorityHost', 'tokenUrl']) {
      check(conflicting, o[conflicting] === undefined ? undefined : 'cannot be combined with "credential": configure the credential itself');
    }
    const clientId = o.clientId === undefined ? undefined : nonEmptyString('clientId', o.clientId);
    return { source: createCredentialSource(o.credential as never, clientId), endpoint: 'entra-v2' };
  }
  const clientId = nonEmptyString('clientId', o.clientId);
  const clientSecret = nonEmptyString('clientSecret', o.clientSecret);
  if (o.tokenUrl !== undefined) {
    check('tokenUrl', endpointProblem(o.tokenUrl));
    check('authorityHost', o.authorityHost === undefined ? undefined : 'cannot be combined with "tokenUrl", which already names the endpoint');
    check('tenantId', typeof o.tenantId === 'function' ? 'cannot be a function with "tokenUrl", which already names the tenant' : undefined);
    const tokenUrl = o.tokenUrl as string;
    const v1 = isEntraV1TokenUrl(tokenUrl);
    const source = createClientSecretSource({ id: `${tokenUrl}|${clientId}`, clientId, clientSecret, v1, tokenEndpoint: () => tokenUrl });
    return { source, endpoint: v1 ? 'entra-v1' : 'generic' };
  }
  if (o.tenantId === undefined) throw invalidOption('tenantId', 'is required (or set "tokenUrl" or "credential")');
  const authorityHost = o.authorityHost ?? DEFAULT_AUTHORITY_HOST;
  check('authorityHost', endpointProblem(authorityHost));
  const authority = (authorityHost as string).replace(/\/+$/, '');
  const source = createClientSecretSource({
    id: `${authority}|${clientId}`,
    clientId,
    clientSecret,
    v1: false,
    tokenEndpoint: (tenantId) => `${authority}/${encodeURIComponent(tenantId ?? '')}/oauth2/v2.0/token`,
  });
  return { source, endpoint: 'entra-v2' };
}

/** Builds the function (or fixed value) that gives each request its tenant and scopes. */
function selectTarget(o: Record<string, unknown>, source: TokenSource, endpoint: 'entra-v2' | 'entra-v1' | 'generic'): TargetSelector {
  const hasResource = o.resource !== undefined;
  if (hasResource === (o.scope !== undefined)) throw invalidOption('resource', 'or "scope" must be set, but not both');
  const option = hasResource ? 'resource' : 'scope';
  const tenantOption = endpoint === 'entra-v2' || typeof o.tenantId === 'string' ? o.tenantId : undefined;

  const build = (tenantId: unknown, value: unknown, fail: (option: string, problem: string) => Error): TokenTarget => {
    if (tenantId !== undefined) {
      const problem = tenantProblem(tenantId);
      if (problem !== undefined) throw fail('tenantId', problem);
    }
    let scopes: readonly string[];
    if (hasResource) {
      const problem = resourceProblem(value);
      if (problem !== undefined) throw fail('resource', problem);
      scopes = [resourceToScope(value as string)];
    } else {
      const list = toScopeList(value);
      const problem = list === undefined ? 'must be a string or an array of strings' : scopesProblem(list, endpoint === 'entra-v2');
      if (problem !== undefined) throw fail('scope', problem);
      scopes = list!;
    }
    const resource = endpoint === 'entra-v1' ? (hasResource ? (value as string) : scopeToResource(scopes)) : undefined;
    if (endpoint === 'entra-v1' && resource === undefined) throw fail('scope', 'must be one "<resource>/.default" scope for an Entra v1 "tokenUrl" (or use "resource")');
    const tenant = tenantId as string | undefined;
    const what = resource !== undefined ? `resource=${resource}` : [...scopes].sort().join(' ');
    return { key: `${source.id}|${tenant ?? ''}|${what}`, tenantId: tenant, scopes, resource };
  };

  const tenantFn = typeof tenantOption === 'function' ? (tenantOption as (req: IncomingMessage) => unknown) : undefined;
  const valueFn = typeof o[option] === 'function' ? (o[option] as (req: IncomingMessage) => unknown) : undefined;
  if (tenantFn === undefined && valueFn === undefined) return build(tenantOption, o[option], invalidOption);

  // Validate the fixed parts once, at start-up.
  if (tenantFn === undefined && tenantOption !== undefined) check('tenantId', tenantProblem(tenantOption));
  const invalidTarget = (name: string, problem: string): Error =>
    new AadBackendAuthError('ERR_INVALID_TARGET', `The per-request "${name}" ${problem}`, { status: 400 });
  return (req) => {
    let tenantId: unknown;
    let value: unknown;
    try {
      tenantId = tenantFn === undefined ? tenantOption : tenantFn(req);
      value = valueFn === undefined ? o[option] : valueFn(req);
    } catch {
      throw new AadBackendAuthError('ERR_INVALID_TARGET', 'A per-request "tenantId", "resource" or "scope" function threw', { status: 400 });
    }
    // A tenant function must name a tenant: `undefined` (a missing header, say) must not fall through to no tenant at all.
    if (tenantFn !== undefined && tenantId === undefined) throw invalidTarget('tenantId', tenantProblem(undefined)!);
    return build(tenantId, value, invalidTarget);
  };
}

export function parseProviderOptions(options: unknown, extraKeys: readonly string[] = []): ProviderSettings {
  const o = definedOptions(options, [...PROVIDER_KEYS, ...extraKeys]);
  const { source, endpoint } = selectSource(o);
  const target = selectTarget(o, source, endpoint);
  if (o.cache !== undefined) check('cache', hasMethods(o.cache, ['get', 'set', 'delete']) ? undefined : 'must be a TokenCache (get, set and delete)');
  if (o.logger !== undefined) {
    check('logger', hasMethods(o.logger, ['debug', 'info', 'warn', 'error']) ? undefined : 'must have debug, info, warn and error methods');
  }
  const logger = (o.logger as AadBackendAuthLogger | undefined) ?? createDefaultLogger();
  if (o.credential !== undefined && o.clientId === undefined && o.cache !== undefined && !(o.cache instanceof MemoryTokenCache)) {
    logger.warn('a "credential" with a shared "cache" and no "clientId": cache keys cannot name the identity, so set "clientId" if other apps use this cache');
  }
  return {
    source,
    target,
    refreshWindowMs: integer('refreshWindowMs', o.refreshWindowMs, 300_000, 0),
    timeoutMs: integer('timeoutMs', o.timeoutMs, 10_000, 1, 600_000),
    failureCooldownMs: integer('failureCooldownMs', o.failureCooldownMs, 2000, 0, MAX_FAILURE_COOLDOWN_MS),
    maxKeys: integer('maxKeys', o.maxKeys, 1000, 1),
    cache: (o.cache as TokenCache | undefined) ?? sharedMemoryTokenCache(),
    logger,
  };
}

export function headerName(option: string, value: unknown): string {
  check(option, typeof value === 'string' && HEADER_NAME.test(value) ? undefined : 'must be a valid HTTP header name');
  return (value as string).toLowerCase();
}

export function parseMiddlewareOptions(options: unknown): { provider: ProviderSettings; middleware: MiddlewareSettings } {
  const provider = parseProviderOptions(options, MIDDLEWARE_KEYS);
  const o = definedOptions(options, [...PROVIDER_KEYS, ...MIDDLEWARE_KEYS]);
  const header = o.header === undefined ? 'authorization' : headerName('header', o.header);
  check('removeHeaders', o.removeHeaders === undefined || Array.isArray(o.removeHeaders) ? undefined : 'must be an array of header names');
  const removed = ((o.removeHeaders as unknown[] | undefined) ?? []).map((name) => headerName('removeHeaders', name));
  const purge = o.purgeOnStatus ?? [401];
  const statusesOk = Array.isArray(purge) && purge.every((s) => Number.isInteger(s) && s >= 100 && s <= 599);
  check('purgeOnStatus', statusesOk ? undefined : 'must be an array of HTTP status codes (100 to 599)');
  check('onError', o.onError === undefined || typeof o.onError === 'function' ? undefined : 'must be a function (err, req, res, next)');
  return {
    provider,
    middleware: {
      header,
      removeHeaders: [...new Set(['authorization', header, ...removed])],
      purgeOnStatus: purge as number[],
      purgeCooldownMs: integer('purgeCooldownMs', o.purgeCooldownMs, 30_000, 0),
      onError: o.onError as ErrorHandler | undefined,
    },
  };
}
