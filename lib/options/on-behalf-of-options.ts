import { entraDiscoveryUrl, entraTokenUrl } from '../grants/entra-endpoints.js';
import { bearerToken } from '../http/bearer-token.js';
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { AadBackendAuthError, invalidOption } from '../core/errors.js';
import { createDefaultLogger } from '../core/logger.js';
import { definedOptions as definedOptionsChecked, hasMethods } from '../core/option-checks.js';
import { check, checkLogger, checkOnError, integer, nonEmptyString, parseHeaderOptions } from './checks.js';
import type { ProviderSettings } from '../provider/provider-settings.js';
import { MAX_TIMEOUT_MS, PROVIDER_DEFAULTS } from './provider-options.js';
import { DEFAULT_AUTHORITY_HOST } from './source-options.js';
import { CLIENT_CREDENTIAL_KEYS, parseClientCredentialOptions } from './client-credential-options.js';
import type { TokenSource, TokenTarget } from '../grants/token-source.js';
import type { AadBackendAuthLogger, TokenCache } from '../core/types.js';
import type { ErrorHandler } from './types.js';
import { endpointProblem, scopesProblem, tenantProblem, toScopeList } from '../core/validation.js';
import { createExchangeSource, EXCHANGE_RESERVED_PARAMETERS, type ExchangeGrant } from '../grants/exchange-source.js';
import { userTokenMissing } from '../core/user-errors.js';
import { MAX_CLOCK_TOLERANCE_SECONDS, tenantIdOfIssuer, type UserTokenValidatorOptions } from '../subjects/user-token/user-token-validator.js';
import type { AadOnBehalfOfOptions } from './on-behalf-of-types.js';
import { parseAntiForgery, type AntiForgeryRule } from '../http/anti-forgery.js';

const definedOptions = (options: unknown, known: readonly string[]): Record<string, unknown> =>
  definedOptionsChecked(options, known, (name, problem) => invalidOption(name, problem, 'aadOnBehalfOf'));

const KEYS = [
  'tenantId',
  'clientId',
  'clientSecret',
  'authorityHost',
  'scope',
  'userToken',
  'userTokenAudience',
  'maxUsers',
  'grant',
  'tokenUrl',
  'issuer',
  'cache',
  'header',
  'removeHeaders',
  'timeoutMs',
  'logger',
  'onError',
  'antiForgery',
  'allowedOrigins',
  ...CLIENT_CREDENTIAL_KEYS,
] as const satisfies readonly (keyof AadOnBehalfOfOptions)[];

const PUBLIC_CLOUD = 'login.microsoftonline.com';
const DEFAULT_MAX_USERS = 10_000;

export interface OnBehalfOfSettings {
  readonly provider: ProviderSettings;
  readonly validator: Omit<UserTokenValidatorOptions<TokenTarget>, 'build' | 'verify'>;
  /** The target of a validated user token: its key names authority, tenant, client, scopes and the token's SHA-256. */
  readonly targetFor: (userToken: string, expiresAt: number) => TokenTarget;
  /** Reads the user token of a request; `undefined` when it has none. Throws `ERR_USER_TOKEN_MISSING` when `userToken` throws. */
  readonly readUserToken: (req: IncomingMessage) => string | undefined;
  readonly header: string;
  readonly removeHeaders: readonly string[];
  readonly onError: ErrorHandler | undefined;
  readonly logger: AadBackendAuthLogger;
  /** On by default with `userToken` (a cookie session), off for bearer calls. */
  readonly antiForgery: AntiForgeryRule | undefined;
}

/** A store that holds nothing: user-specific tokens are shared only when the user asks for a `cache`. */
function noCache(): TokenCache {
  return { get: () => undefined, set: () => undefined, delete: () => undefined };
}

export function parseOnBehalfOfOptions(options: unknown): OnBehalfOfSettings {
  const o = definedOptions(options, KEYS);
  const grant = (o.grant ?? 'on-behalf-of') as ExchangeGrant;
  check('grant', grant === 'on-behalf-of' || grant === 'token-exchange' ? undefined : 'must be "on-behalf-of" or "token-exchange"');
  const clientId = nonEmptyString('clientId', o.clientId);
  if (o.clientSecret === undefined && o.clientCertificate === undefined && o.clientAssertion === undefined) {
    throw invalidOption('clientSecret', 'is required (or set "clientCertificate" or "clientAssertion")', 'aadOnBehalfOf');
  }
  // The same client authentication, token parameters, proxy and CA as app tokens; the exchange's own fields stay reserved.
  const auth = parseClientCredentialOptions(o, clientId, { v1: false, reservedParameters: EXCHANGE_RESERVED_PARAMETERS, owner: 'aadOnBehalfOf' });
  const exchange = { requester: auth.requester, tokenParameters: auth.tokenParameters };

  const scopes = toScopeList(o.scope);
  check('scope', o.scope === undefined ? 'is required: the delegated scope or scopes, such as "api://orders/Orders.Read"' : undefined);
  check('scope', scopes === undefined ? 'must be a string or an array of strings' : scopesProblem(scopes, false));
  const sortedScopes = [...scopes!].sort().join(' ');

  let source: TokenSource;
  let tenantId: string | undefined;
  let discoveryUrl: string;
  let expectedIssuer: string | undefined;
  let publicCloud = false;
  if (grant === 'token-exchange') {
    for (const entraOnly of ['tenantId', 'authorityHost']) {
      check(entraOnly, o[entraOnly] === undefined ? undefined : 'cannot be combined with grant "token-exchange": "tokenUrl" and "issuer" take its place');
    }
    check('tokenUrl', o.tokenUrl === undefined ? 'is required with grant "token-exchange"' : endpointProblem(o.tokenUrl));
    check('issuer', o.issuer === undefined ? 'is required with grant "token-exchange"' : endpointProblem(o.issuer));
    const tokenUrl = o.tokenUrl as string;
    expectedIssuer = o.issuer as string;
    discoveryUrl = `${expectedIssuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
    source = createExchangeSource({ ...exchange, grant, id: `${tokenUrl}|${clientId}|token-exchange${auth.idSuffix}`, tokenEndpoint: () => tokenUrl });
  } else {
    for (const exchangeOnly of ['tokenUrl', 'issuer']) {
      check(exchangeOnly, o[exchangeOnly] === undefined ? undefined : 'is only for grant "token-exchange"; Entra endpoints come from "authorityHost" and "tenantId"');
    }
    if (typeof o.tenantId === 'string' && ['common', 'organizations', 'consumers'].includes(o.tenantId.toLowerCase())) {
      throw invalidOption('tenantId', `must name one tenant: "${o.tenantId}" cannot validate user tokens of a known issuer; use the tenant GUID or a verified domain`);
    }
    check('tenantId', o.tenantId === undefined ? 'is required (the tenant of the users and of the BFF)' : tenantProblem(o.tenantId));
    tenantId = o.tenantId as string;
    const authorityHost = o.authorityHost ?? DEFAULT_AUTHORITY_HOST;
    check('authorityHost', endpointProblem(authorityHost));
    const authority = (authorityHost as string).replace(/\/+$/, '');
    publicCloud = new URL(authority).hostname.toLowerCase() === PUBLIC_CLOUD;
    discoveryUrl = entraDiscoveryUrl(authority, tenantId);
    source = createExchangeSource({
      ...exchange,
      grant,
      id: `${authority}|${clientId}|on-behalf-of${auth.idSuffix}`,
      tokenEndpoint: (tenant) => entraTokenUrl(authority, tenant),
    });
  }

  const audiences = o.userTokenAudience === undefined ? [clientId, `api://${clientId}`] : toScopeList(o.userTokenAudience);
  const audiencesOk = audiences !== undefined && audiences.length > 0 && audiences.every((a) => typeof a === 'string' && a !== '');
  check('userTokenAudience', audiencesOk ? undefined : 'must be a non-empty string or array of non-empty strings');
  check('userToken', o.userToken === undefined || typeof o.userToken === 'function' ? undefined : 'must be a function (req) => string | undefined');
  if (o.cache !== undefined) check('cache', hasMethods(o.cache, ['get', 'set', 'delete']) ? undefined : 'must be a TokenCache (get, set and delete)');
  checkLogger(o.logger);
  checkOnError(o.onError);
  const { header, removeHeaders } = parseHeaderOptions(o);
  const maxUsers = integer('maxUsers', o.maxUsers, DEFAULT_MAX_USERS, 1);
  const timeoutMs = integer('timeoutMs', o.timeoutMs, PROVIDER_DEFAULTS.timeoutMs, 1, MAX_TIMEOUT_MS);
  const logger = (o.logger as AadBackendAuthLogger | undefined) ?? createDefaultLogger();

  const keyPrefix = `${source.id}|${tenantId ?? ''}|${sortedScopes}|user:`;
  const targetFor = (userToken: string, expiresAt: number): TokenTarget => {
    // The key names the user token by its SHA-256, never the token; the token itself rides along hidden.
    const hash = createHash('sha256').update(userToken).digest('base64url');
    const target = { key: keyPrefix + hash, tenantId, scopes: scopes!, resource: undefined, notAfter: expiresAt } as TokenTarget;
    Object.defineProperty(target, 'assertion', { value: userToken, enumerable: false });
    return target;
  };
  const userTokenFn = o.userToken as ((req: IncomingMessage) => unknown) | undefined;
  const readUserToken =
    userTokenFn === undefined
      ? bearerToken
      : (req: IncomingMessage): string | undefined => {
          let value: unknown;
          try {
            value = userTokenFn(req);
          } catch {
            throw userTokenMissing('the "userToken" function threw');
          }
          return typeof value === 'string' && value !== '' ? value : undefined;
        };

  return {
    provider: {
      source,
      target: () => {
        throw new AadBackendAuthError('ERR_INVALID_TARGET', 'aadOnBehalfOf picks targets from validated user tokens');
      },
      ...PROVIDER_DEFAULTS,
      timeoutMs,
      maxKeys: maxUsers,
      clientCapabilities: undefined,
      // A store per middleware that holds nothing: user-specific tokens are shared only through a given `cache`.
      cache: (o.cache as TokenCache | undefined) ?? noCache(),
      logger,
    },
    validator: {
      discoveryUrl,
      expectedIssuer,
      extraIssuers: (issuer) => {
        const tid = publicCloud ? tenantIdOfIssuer(issuer) : undefined;
        return tid === undefined ? [] : [`https://sts.windows.net/${tid}/`];
      },
      audiences: audiences!,
      clockToleranceSeconds: MAX_CLOCK_TOLERANCE_SECONDS,
      maxEntries: maxUsers,
      timeoutMs,
      grant,
      // Discovery and keys come from the same authority, so through the same proxy and CA.
      agents: auth.agents,
    },
    targetFor,
    readUserToken,
    header,
    removeHeaders,
    onError: o.onError as ErrorHandler | undefined,
    logger,
    antiForgery: parseAntiForgery(o.antiForgery, o.allowedOrigins, o.userToken !== undefined, 'aadOnBehalfOf'),
  };
}
