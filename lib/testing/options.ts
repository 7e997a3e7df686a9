import { integerOption, isLoopbackHost } from '../core/option-checks.js';
import { registerCertificate, type RegisteredCertificate } from './client-authentication.js';
import { ApiDirectory, registerResource, type ApiRegistration } from './resources.js';
import { stableGuid } from './tokens.js';
import type { EmulatorResource, EmulatorUser, EntraEmulatorOptions } from './types.js';

/** The tenant id the emulator registers when `tenants` is not given (made up). */
export const DEFAULT_TENANT_ID = 'e7a3c9d0-5b1f-4c2e-9a6d-0f1e2d3c4b5a';
/**
 * The client id the emulator registers when `clients` is not given (made up).
 * Its own API, `api://DEFAULT_CLIENT_ID`, accepts v2 tokens (`accessTokenVersion: 2`).
 */
export const DEFAULT_CLIENT_ID = '0b5e8c1a-7d2f-4e6b-8c9a-1d3f5e7a9b2c';
/** The secret of {@link DEFAULT_CLIENT_ID} (made up; not a real credential). */
export const DEFAULT_CLIENT_SECRET = 'emulator-secret-0b5e8c1a-not-for-production';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DOMAIN = /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i;
const NOT_A_TENANT = new Set(['common', 'organizations', 'consumers']);
const HOST = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:\d{1,5})?$/i;

export function isGuid(value: string): boolean {
  return GUID.test(value);
}

/** A registered client, with its tenant resolved to a tenant id. */
export interface ResolvedClient {
  clientId: string;
  /** Changed by `rotateClientSecret()`. */
  clientSecret: string | undefined;
  certificate?: RegisteredCertificate;
  tenantId: string | undefined;
  /** The version of tokens for the app's own API, `api://<clientId>`. */
  accessTokenVersion: 1 | 2;
  /** Registered redirect URIs; `undefined` accepts loopback URLs. */
  redirectUris?: readonly string[];
}

/** A test user with its name resolved. */
export interface ResolvedUser {
  readonly username: string;
  readonly name: string;
  readonly oid: string | undefined;
}

/** The options with defaults applied and checked. */
export interface ResolvedOptions {
  port: number;
  host: string;
  https: boolean;
  tokenLifetimeSeconds: number;
  refreshInSeconds: number | undefined;
  latencyMs: number;
  /** The tenant names as given (GUIDs and domains), in order. */
  tenantNames: string[];
  /** Lower-cased tenant name or id → tenant id. */
  tenantIds: Map<string, string>;
  clients: Map<string, ResolvedClient>;
  /** The registered resources; `undefined` accepts any audience. */
  resources: ApiRegistration[] | undefined;
  /** Finds the API (and so the token version) a request names. */
  apis: ApiDirectory;
  /** The host of v1 issuers (`https://{host}/{tid}/`). */
  v1IssuerHost: string;
  /** The test users the authorization endpoint signs in; the first is the default. */
  users: ResolvedUser[];
  /** The oid of a user without a given one: per tenant, as `issueUserToken` derives it. */
  userOid(tenantId: string, name: string): string;
  refreshTokenLifetimeSeconds: number;
  refreshTokenReuseDetection: boolean;
}

function optionError(name: string, rule: string): TypeError {
  return new TypeError(`startEntraEmulator: "${name}" option ${rule}`);
}

function booleanOption(name: string, value: unknown): boolean {
  if (value !== undefined && typeof value !== 'boolean') throw optionError(name, 'must be a boolean');
  return value === true;
}

function integerIn(name: string, value: number | undefined, fallback: number, min: number, max: number): number {
  return integerOption(name, value, fallback, min, max, (option, problem) => optionError(option, `${problem}, got ${String(value)}`));
}

function resolveTenants(tenants: string[] | undefined): Pick<ResolvedOptions, 'tenantNames' | 'tenantIds'> {
  const names = tenants ?? [DEFAULT_TENANT_ID];
  if (!Array.isArray(names) || names.length === 0) {
    throw optionError('tenants', 'must be a non-empty array of tenant GUIDs or verified domains');
  }
  const tenantIds = new Map<string, string>();
  for (const name of names) {
    if (typeof name === 'string' && NOT_A_TENANT.has(name.toLowerCase())) {
      throw optionError('tenants', `cannot hold '${name}': app-only tokens need a real tenant`);
    }
    if (typeof name !== 'string' || !(isGuid(name) || DOMAIN.test(name))) {
      throw optionError('tenants', `must hold tenant GUIDs or domains like 'contoso.onmicrosoft.com', got ${JSON.stringify(name)}`);
    }
    const id = isGuid(name) ? name.toLowerCase() : stableGuid(`tenant:${name.toLowerCase()}`);
    if (tenantIds.has(name.toLowerCase())) throw optionError('tenants', `lists '${name}' twice`);
    tenantIds.set(name.toLowerCase(), id);
    tenantIds.set(id, id);
  }
  return { tenantNames: [...names], tenantIds };
}

function resolveClients(
  clients: EntraEmulatorOptions['clients'],
  tenantIds: Map<string, string>,
): Map<string, ResolvedClient> {
  // The built-in BFF registration exposes a v2 API, so that aadOnBehalfOf (which offline knows
  // only the v2 discovery issuer) accepts the user tokens issueUserToken() mints for it.
  const list = clients ?? [{ clientId: DEFAULT_CLIENT_ID, clientSecret: DEFAULT_CLIENT_SECRET, accessTokenVersion: 2 as const }];
  if (!Array.isArray(list) || list.length === 0) throw optionError('clients', 'must be a non-empty array');
  const map = new Map<string, ResolvedClient>();
  for (const client of list) {
    if (typeof client?.clientId !== 'string' || client.clientId === '') {
      throw optionError('clients', 'needs a non-empty "clientId" in every entry');
    }
    const certificate = client.certificate === undefined ? undefined : registerCertificate(client.certificate, client.clientId);
    if ((certificate === undefined || client.clientSecret !== undefined) && (typeof client.clientSecret !== 'string' || client.clientSecret === '')) {
      throw optionError('clients', `needs a non-empty "clientSecret" (or a "certificate") for client '${client.clientId}'`);
    }
    let tenantId: string | undefined;
    if (client.tenantId !== undefined) {
      tenantId = tenantIds.get(client.tenantId.toLowerCase());
      if (tenantId === undefined) {
        throw optionError('clients', `gives client '${client.clientId}' the tenant '${client.tenantId}', which is not in "tenants"`);
      }
    }
    if (map.has(client.clientId)) throw optionError('clients', `registers '${client.clientId}' twice`);
    const version = client.accessTokenVersion ?? 1;
    if (version !== 1 && version !== 2) throw optionError('clients', `needs "accessTokenVersion" 1 or 2 for client '${client.clientId}'`);
    const { redirectUris } = client;
    if (redirectUris !== undefined && (!Array.isArray(redirectUris) || redirectUris.some((uri) => !isUrl(uri)))) {
      throw optionError('clients', `needs "redirectUris" to be an array of absolute URLs for client '${client.clientId}'`);
    }
    map.set(client.clientId, {
      clientId: client.clientId,
      clientSecret: client.clientSecret,
      tenantId,
      accessTokenVersion: version,
      ...(certificate !== undefined && { certificate }),
      ...(redirectUris !== undefined && { redirectUris: Object.freeze([...redirectUris]) }),
    });
  }
  return map;
}

function resolveResources(resources: EmulatorResource[] | undefined): ApiRegistration[] | undefined {
  if (resources === undefined) return undefined;
  if (!Array.isArray(resources)) throw optionError('resources', 'must be an array of { audience, appId?, accessTokenVersion?, idtyp?, appRoles? }');
  const fail = (rule: string): never => {
    throw optionError('resources', rule);
  };
  const seen = new Set<string>();
  return resources.map((resource) => {
    const api = registerResource(resource, fail);
    for (const id of [api.audience, api.appId]) {
      if (seen.has(id)) fail(`names '${id}' twice (audiences and appIds must be unique)`);
      seen.add(id);
    }
    return api;
  });
}

function isUrl(value: unknown): boolean {
  try {
    return typeof value === 'string' && new URL(value).href !== '';
  } catch {
    return false;
  }
}

function resolveUsers(users: EmulatorUser[] | undefined): ResolvedUser[] {
  const list = users ?? [{ username: 'test.user@contoso.example', name: 'Test User' }];
  if (!Array.isArray(list) || list.length === 0) throw optionError('users', 'must be a non-empty array of { username, name?, oid? }');
  const seen = new Set<string>();
  return list.map((user) => {
    if (typeof user?.username !== 'string' || user.username === '') throw optionError('users', 'needs a non-empty "username" in every entry');
    if (seen.has(user.username.toLowerCase())) throw optionError('users', `lists '${user.username}' twice`);
    seen.add(user.username.toLowerCase());
    if (user.name !== undefined && typeof user.name !== 'string') throw optionError('users', `needs "name" to be a string for '${user.username}'`);
    if (user.oid !== undefined && (typeof user.oid !== 'string' || user.oid === '')) throw optionError('users', `needs "oid" to be a non-empty string for '${user.username}'`);
    return { username: user.username, name: user.name ?? user.username.split('@')[0]!, oid: user.oid };
  });
}

/** Apply the defaults and check every option; throws a TypeError naming the bad one. */
export function resolveOptions(options: Readonly<EntraEmulatorOptions> = {}): ResolvedOptions {
  const opts = Object.fromEntries(
    Object.entries(options).filter(([, value]) => value !== undefined),
  ) as EntraEmulatorOptions;

  // Loopback only: the emulator gives tokens to anyone who asks.
  const host = opts.host ?? '127.0.0.1';
  if (typeof host !== 'string' || !isLoopbackHost(host)) {
    throw optionError('host', `must be a loopback address (127.0.0.1, ::1 or localhost), got ${JSON.stringify(host)}`);
  }
  if (opts.https !== undefined && typeof opts.https !== 'boolean') throw optionError('https', 'must be a boolean');

  const v1IssuerHost = opts.v1IssuerHost ?? 'sts.windows.net';
  if (typeof v1IssuerHost !== 'string' || !HOST.test(v1IssuerHost)) {
    throw optionError('v1IssuerHost', `must be a host name such as 'sts.windows.net', got ${JSON.stringify(v1IssuerHost)}`);
  }
  const { tenantNames, tenantIds } = resolveTenants(opts.tenants);
  const clients = resolveClients(opts.clients, tenantIds);
  const resources = resolveResources(opts.resources);
  return {
    port: integerIn('port', opts.port, 0, 0, 65535),
    host: host.startsWith('[') ? host.slice(1, -1) : host,
    https: opts.https ?? false,
    tokenLifetimeSeconds: integerIn('tokenLifetimeSeconds', opts.tokenLifetimeSeconds, 3599, 1, 10 * 365 * 24 * 3600),
    refreshInSeconds:
      opts.refreshInSeconds === undefined
        ? undefined
        : integerIn('refreshInSeconds', opts.refreshInSeconds, 0, 0, 10 * 365 * 24 * 3600),
    latencyMs: integerIn('latencyMs', opts.latencyMs, 0, 0, 10 * 60 * 1000),
    tenantNames,
    tenantIds,
    clients,
    resources,
    apis: new ApiDirectory(resources, [...clients.values()].map((c) => ({ clientId: c.clientId, version: c.accessTokenVersion }))),
    v1IssuerHost,
    users: resolveUsers(opts.users),
    userOid: (tenantId, name) => stableGuid(`user:${tenantId}:${name}`),
    refreshTokenLifetimeSeconds: integerIn('refreshTokenLifetimeSeconds', opts.refreshTokenLifetimeSeconds, 90 * 24 * 3600, 1, 10 * 365 * 24 * 3600),
    refreshTokenReuseDetection: booleanOption('refreshTokenReuseDetection', opts.refreshTokenReuseDetection),
  };
}
