import { integerOption, isLoopbackHost } from '../core/option-checks.js';
import { registerCertificate, type RegisteredCertificate } from './client-authentication.js';
import { stableGuid } from './tokens.js';
import type { EmulatorResource, EntraEmulatorOptions } from './types.js';

/** The tenant id the emulator registers when `tenants` is not given (made up). */
export const DEFAULT_TENANT_ID = 'e7a3c9d0-5b1f-4c2e-9a6d-0f1e2d3c4b5a';
/** The client id the emulator registers when `clients` is not given (made up). */
export const DEFAULT_CLIENT_ID = '0b5e8c1a-7d2f-4e6b-8c9a-1d3f5e7a9b2c';
/** The secret of {@link DEFAULT_CLIENT_ID} (made up; not a real credential). */
export const DEFAULT_CLIENT_SECRET = 'emulator-secret-0b5e8c1a-not-for-production';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DOMAIN = /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i;
const NOT_A_TENANT = new Set(['common', 'organizations', 'consumers']);

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
  /** Audience → resource; `undefined` accepts any audience. */
  resources: Map<string, EmulatorResource> | undefined;
}

function optionError(name: string, rule: string): TypeError {
  return new TypeError(`startEntraEmulator: "${name}" option ${rule}`);
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
  const list = clients ?? [{ clientId: DEFAULT_CLIENT_ID, clientSecret: DEFAULT_CLIENT_SECRET }];
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
    map.set(client.clientId, { clientId: client.clientId, clientSecret: client.clientSecret, tenantId, ...(certificate !== undefined && { certificate }) });
  }
  return map;
}

function resolveResources(resources: EmulatorResource[] | undefined): Map<string, EmulatorResource> | undefined {
  if (resources === undefined) return undefined;
  if (!Array.isArray(resources)) throw optionError('resources', 'must be an array of { audience, appRoles? }');
  const map = new Map<string, EmulatorResource>();
  for (const resource of resources) {
    if (typeof resource?.audience !== 'string' || resource.audience === '') {
      throw optionError('resources', 'needs a non-empty "audience" in every entry');
    }
    if (resource.audience.endsWith('/.default')) {
      throw optionError('resources', `takes the audience without '/.default', got '${resource.audience}'`);
    }
    for (const [clientId, roles] of Object.entries(resource.appRoles ?? {})) {
      if (!Array.isArray(roles) || roles.some((role) => typeof role !== 'string')) {
        throw optionError('resources', `needs an array of role names for client '${clientId}' of '${resource.audience}'`);
      }
    }
    map.set(resource.audience, resource);
  }
  return map;
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

  const { tenantNames, tenantIds } = resolveTenants(opts.tenants);
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
    clients: resolveClients(opts.clients, tenantIds),
    resources: resolveResources(opts.resources),
  };
}
