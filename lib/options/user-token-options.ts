import { AadBackendAuthError, invalidOption } from '../core/errors.js';
import { parseAntiForgery, type AntiForgeryRule } from '../http/anti-forgery.js';
import { createDefaultLogger } from '../core/logger.js';
import { MemoryTokenCache, sharedMemoryTokenCache } from '../provider/memory-cache.js';
import { definedOptions, hasMethods, integerOption } from '../core/option-checks.js';
import { CLIENT_CREDENTIAL_KEYS, parseClientCredentialOptions } from './client-credential-options.js';
import { createRefreshTokenGrant, REFRESH_RESERVED_PARAMETERS, type RefreshTokenGrant } from '../grants/refresh-token-grant.js';
import type { TokenSource, TokenTarget } from '../grants/token-source.js';
import { isSessionRecordStore } from '../subjects/session/ledger.js';
import type { UserTokenSession } from '../subjects/session/types.js';
import type { AadUserTokenOptions } from './user-token-types.js';
import type { AadBackendAuthLogger, TokenCache } from '../core/types.js';
import type { ErrorHandler } from './types.js';
import { endpointProblem, tokenHeaderProblem } from '../core/validation.js';
import { parseHeaderOptions } from './checks.js';
import type { ProviderSettings } from '../provider/provider-settings.js';
import { DEFAULT_AUTHORITY_HOST, MAX_TIMEOUT_MS, PROVIDER_DEFAULTS } from './provider-options.js';

const OWNER = 'aadUserToken';
const KEYS = [
  'tenantId',
  'clientId',
  'clientSecret',
  'authorityHost',
  'tokenUrl',
  'scope',
  'session',
  'antiForgery',
  'allowedOrigins',
  'cache',
  'maxUsers',
  'header',
  'removeHeaders',
  'timeoutMs',
  'logger',
  'onError',
  ...CLIENT_CREDENTIAL_KEYS,
] as const satisfies readonly (keyof AadUserTokenOptions)[];

const DEFAULT_MAX_USERS = 10_000;
const MAX_SCOPE_LENGTH = 4096;

export interface UserTokenSettings {
  readonly provider: ProviderSettings;
  readonly grant: RefreshTokenGrant;
  readonly session: UserTokenSession;
  /** Exactly as configured (an array joined with spaces); `undefined` forwards the session's own token. */
  readonly scope: string | undefined;
  readonly targetFor: (family: string) => TokenTarget;
  readonly antiForgery: AntiForgeryRule | undefined;
  readonly maxUsers: number;
  readonly header: string;
  readonly removeHeaders: readonly string[];
  readonly onError: ErrorHandler | undefined;
  readonly logger: AadBackendAuthLogger;
}

function fail(option: string, problem: string): never {
  throw invalidOption(option, problem, OWNER);
}

function check(option: string, problem: string | undefined): void {
  if (problem !== undefined) fail(option, problem);
}

function parseScope(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  const joined = typeof value === 'string' ? value : Array.isArray(value) && value.every((s) => typeof s === 'string') ? value.join(' ') : undefined;
  if (joined === undefined || joined.trim() === '') fail('scope', 'must be a non-empty string or array of strings, such as "api://orders/Orders.Read"');
  if (joined.length > MAX_SCOPE_LENGTH || !/^[\x20-\x7e]+$/.test(joined)) fail('scope', 'must be printable ASCII, at most 4096 characters');
  return joined;
}

function parseSession(value: unknown): UserTokenSession {
  if (value === undefined) fail('session', 'is required: { get(req), set(req, tokens), clear?(req) } over your session store');
  if (!hasMethods(value, ['get', 'set'])) fail('session', 'must have get(req) and set(req, tokens) methods');
  const clear = (value as { clear?: unknown }).clear;
  if (clear !== undefined && typeof clear !== 'function') fail('session', 'must have a clear(req) method, if any');
  return value as UserTokenSession;
}

/** User tokens go to a shared cache only encrypted: `RedisTokenCache` with `encryptionKey`, or the in-process store. */
function parseCache(value: unknown): TokenCache {
  if (value === undefined) return sharedMemoryTokenCache();
  if (value instanceof MemoryTokenCache) return value;
  if (!isSessionRecordStore(value) || !hasMethods(value, ['get', 'set', 'delete'])) {
    fail('cache', 'must be a MemoryTokenCache or a RedisTokenCache: user tokens go only to a cache that encrypts them');
  }
  if (!value.encrypted) fail('cache', 'is a RedisTokenCache without "encryptionKey": user tokens (refresh tokens too) are stored in a shared cache only encrypted');
  return value as unknown as TokenCache;
}

function endpointOf(o: Record<string, unknown>): { tokenEndpoint: string; tenantId: string | undefined } {
  if (o.tokenUrl !== undefined) {
    check('tokenUrl', endpointProblem(o.tokenUrl));
    for (const entraOnly of ['tenantId', 'authorityHost']) check(entraOnly, o[entraOnly] === undefined ? undefined : 'cannot be combined with "tokenUrl", which already names the endpoint');
    return { tokenEndpoint: o.tokenUrl as string, tenantId: undefined };
  }
  const tenantId = o.tenantId;
  const tenantOk = typeof tenantId === 'string' && /^[A-Za-z0-9.-]{1,253}$/.test(tenantId);
  check('tenantId', tenantId === undefined ? 'is required (or set "tokenUrl")' : tenantOk ? undefined : 'must be a tenant GUID, a verified domain, "organizations" or "common"');
  const authorityHost = o.authorityHost ?? DEFAULT_AUTHORITY_HOST;
  check('authorityHost', endpointProblem(authorityHost));
  const authority = (authorityHost as string).replace(/\/+$/, '');
  return { tokenEndpoint: `${authority}/${encodeURIComponent(tenantId as string)}/oauth2/v2.0/token`, tenantId: tenantId as string };
}

/** Validates `aadUserToken` options once, naming the option at fault. */
export function parseUserTokenOptions(options: unknown): UserTokenSettings {
  const o = definedOptions(options, KEYS, fail);
  check('clientId', typeof o.clientId === 'string' && o.clientId.trim() !== '' ? undefined : 'is required: the BFF\'s application (client) id');
  const clientId = o.clientId as string;
  const session = parseSession(o.session);
  const scope = parseScope(o.scope);
  const { tokenEndpoint, tenantId } = endpointOf(o);
  const auth = parseClientCredentialOptions(o, clientId, { v1: false, reservedParameters: REFRESH_RESERVED_PARAMETERS, owner: OWNER });
  const grant = createRefreshTokenGrant({ tokenEndpoint, id: `${tokenEndpoint}|${clientId}|refresh_token${auth.idSuffix}`, requester: auth.requester, tokenParameters: auth.tokenParameters });
  const cache = parseCache(o.cache);
  if (o.logger !== undefined) check('logger', hasMethods(o.logger, ['debug', 'info', 'warn', 'error']) ? undefined : 'must have debug, info, warn and error methods');
  check('onError', o.onError === undefined || typeof o.onError === 'function' ? undefined : 'must be a function (err, req, res, next)');
  if (o.header !== undefined) check('header', tokenHeaderProblem(o.header));
  const { header, removeHeaders } = parseHeaderOptions(o);
  const maxUsers = integerOption('maxUsers', o.maxUsers, DEFAULT_MAX_USERS, 1, Number.MAX_SAFE_INTEGER, (n, p) => invalidOption(n, p, OWNER));
  const timeoutMs = integerOption('timeoutMs', o.timeoutMs, PROVIDER_DEFAULTS.timeoutMs, 1, MAX_TIMEOUT_MS, (n, p) => invalidOption(n, p, OWNER));
  const antiForgery = parseAntiForgery(o.antiForgery, o.allowedOrigins, true, OWNER);
  const logger = (o.logger as AadBackendAuthLogger | undefined) ?? createDefaultLogger();

  const scopes = scope === undefined ? [] : scope.split(' ').filter((s) => s !== '');
  const keyPrefix = `${grant.id}|session:`;
  const scopeKey = scope ?? '';
  // The key names the family by a refresh token's SHA-256 (never a token) and the scope asked for.
  const targetFor = (family: string): TokenTarget => ({ key: `${keyPrefix}${family}|${scopeKey}`, tenantId, scopes, resource: undefined });
  return {
    provider: {
      source: refusingSource(grant),
      target: () => {
        throw new AadBackendAuthError('ERR_INVALID_TARGET', 'aadUserToken picks targets from the session');
      },
      ...PROVIDER_DEFAULTS,
      timeoutMs,
      maxKeys: maxUsers,
      clientCapabilities: undefined,
      cache,
      logger,
    },
    grant,
    session,
    scope,
    targetFor,
    antiForgery,
    maxUsers,
    header,
    removeHeaders,
    onError: o.onError as ErrorHandler | undefined,
    logger,
  };
}

/** The provider never fetches for a session: the session subject redeems refresh tokens itself, on live requests. */
function refusingSource(grant: RefreshTokenGrant): TokenSource {
  return {
    id: grant.id,
    grant: 'refresh_token',
    serverAddress: grant.serverAddress,
    fetchToken: () => Promise.reject(new AadBackendAuthError('ERR_INTERNAL', 'session tokens are refreshed on a live request only')),
  };
}
