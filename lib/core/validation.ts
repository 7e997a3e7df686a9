import { isLoopbackHost } from './option-checks.js';

/**
 * Checks shared by start-up option parsing and per-request targets. Each returns
 * a problem phrase to follow the option's name, or `undefined` when the value is fine.
 */

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DOMAIN = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i;
const MULTI_TENANT_ALIASES = new Set(['common', 'organizations', 'consumers']);
/** RFC 6749 scope-token characters: printable ASCII except space, `"` and `\`. */
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;
/** RFC 9110 token characters, for header names. */
export const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9a-z-]+$/i;
/** Headers that frame the message or the connection: a token there would break HTTP, not authenticate it. */
const FRAMING_HEADERS = new Set(['content-length', 'transfer-encoding', 'host', 'connection', 'upgrade', 'te', 'trailer', 'keep-alive', 'proxy-connection', 'expect']);
const DEFAULT_SUFFIX = '/.default';

export function tenantProblem(value: unknown): string | undefined {
  if (typeof value !== 'string' || value === '') return 'must be a non-empty string (a tenant GUID or a verified domain)';
  if (MULTI_TENANT_ALIASES.has(value.toLowerCase())) {
    return `must name one tenant: "${value}" cannot issue app-only tokens; use the tenant GUID or a verified domain`;
  }
  if (!GUID.test(value) && !DOMAIN.test(value)) return 'must be a tenant GUID or a verified domain such as contoso.onmicrosoft.com';
  return undefined;
}

/** Entra tenant names and GUIDs are case-insensitive: one spelling, one cache key. */
export function normalizeTenant(tenantId: string): string {
  return tenantId.toLowerCase();
}

export function resourceProblem(value: unknown): string | undefined {
  if (typeof value !== 'string' || value === '') return 'must be a non-empty string such as "api://orders"';
  if (!SCOPE_TOKEN.test(value)) return 'must not contain spaces, quotes, backslashes or control characters';
  if (value.endsWith(DEFAULT_SUFFIX)) return `must not end with "${DEFAULT_SUFFIX}": pass the bare resource, or use "scope"`;
  return undefined;
}

/** `entraDefaultScope`: Entra app-only tokens need exactly one `<resource>/.default` scope. */
export function scopesProblem(value: readonly string[], entraDefaultScope: boolean): string | undefined {
  if (value.length === 0) return 'must name at least one scope';
  for (const scope of value) {
    if (typeof scope !== 'string' || scope === '') return 'must hold non-empty strings';
    if (!SCOPE_TOKEN.test(scope)) return 'must not contain spaces, quotes, backslashes or control characters';
  }
  if (entraDefaultScope) {
    if (value.length !== 1) return `must be exactly one "<resource>${DEFAULT_SUFFIX}" scope for app-only tokens`;
    if (!value[0]!.endsWith(DEFAULT_SUFFIX)) {
      return `must end with "${DEFAULT_SUFFIX}" for app-only tokens (e.g. "${value[0]}${DEFAULT_SUFFIX}"), or use "resource"`;
    }
  }
  return undefined;
}

export function toScopeList(value: unknown): readonly string[] | undefined {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value as string[];
  return undefined;
}

export function resourceToScope(resource: string): string {
  return resource + DEFAULT_SUFFIX;
}

/** The resource of a single `<resource>/.default` scope, for Entra v1 endpoints. */
export function scopeToResource(scopes: readonly string[]): string | undefined {
  const only = scopes.length === 1 ? scopes[0]! : '';
  return only.endsWith(DEFAULT_SUFFIX) ? only.slice(0, -DEFAULT_SUFFIX.length) : undefined;
}


/** An endpoint URL must be absolute, free of credentials, query and fragment, and https unless on loopback. */
export function endpointProblem(value: unknown): string | undefined {
  if (typeof value !== 'string' || value === '') return 'must be a non-empty URL string';
  // `new URL('https://h?')` drops an empty query, so look at the text itself.
  if (/[?#]/.test(value)) return 'must not carry a query string or fragment';
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be an absolute URL';
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname))) {
    return 'must use https (http is accepted only for loopback hosts such as 127.0.0.1 and localhost)';
  }
  if (url.username !== '' || url.password !== '') return 'must not carry credentials';
  if (url.search !== '' || url.hash !== '') return 'must not carry a query string or fragment';
  return undefined;
}

export function tokenHeaderProblem(value: unknown): string | undefined {
  if (typeof value !== 'string' || !HEADER_NAME.test(value)) return 'must be a valid HTTP header name';
  if (FRAMING_HEADERS.has(value.toLowerCase())) return `must not be "${value}", which frames the HTTP message or connection`;
  return undefined;
}
