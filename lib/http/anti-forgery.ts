import type { IncomingHttpHeaders } from 'node:http';
import { AadBackendAuthError, invalidOption } from '../core/errors.js';
import { HEADER_NAME } from '../core/validation.js';

/**
 * Anti-forgery for entry points that act on ambient credentials (a cookie session): a request
 * must carry a header a cross-site form, image or script cannot send without CORS (Duende.BFF's
 * `X-CSRF: 1`). WebSocket upgrades cannot set headers, so they must come from an allowed `Origin`.
 * Pure: the gateway applies it before any session read or token work.
 */
export interface AntiForgeryRule {
  /** Lower-case header name. */
  readonly header: string;
  /** The exact value it must have. */
  readonly value: string;
  /** Serialised origins (`https://app.example.com`) an upgrade may come from; `undefined` when none were given. */
  readonly allowedOrigins: ReadonlySet<string> | undefined;
}

export const DEFAULT_ANTI_FORGERY_HEADER = 'x-csrf';
export const DEFAULT_ANTI_FORGERY_VALUE = '1';

/** The value of the `antiForgery` option as the user may give it. */
export type AntiForgeryOption = boolean | { header?: string | undefined; value?: string | undefined };

/**
 * Reads `antiForgery` and `allowedOrigins`; `defaultOn` is what an absent `antiForgery` means for
 * this entry point. Returns `undefined` when anti-forgery is off. Throws `ERR_INVALID_OPTION`.
 */
export function parseAntiForgery(antiForgery: unknown, allowedOrigins: unknown, defaultOn: boolean, owner: string): AntiForgeryRule | undefined {
  const fail = (option: string, problem: string): never => {
    throw invalidOption(option, problem, owner);
  };
  const origins = parseOrigins(allowedOrigins, fail);
  const on = antiForgery === undefined ? defaultOn : antiForgery !== false;
  if (antiForgery !== undefined && typeof antiForgery !== 'boolean' && (typeof antiForgery !== 'object' || antiForgery === null || Array.isArray(antiForgery))) {
    fail('antiForgery', 'must be true, false or { header?: string; value?: string }');
  }
  if (!on) {
    if (origins !== undefined) fail('allowedOrigins', 'is only used with "antiForgery" on');
    return undefined;
  }
  const given = typeof antiForgery === 'object' && antiForgery !== null ? (antiForgery as Record<string, unknown>) : {};
  for (const key of Object.keys(given)) if (key !== 'header' && key !== 'value' && given[key] !== undefined) fail(`antiForgery.${key}`, 'is not an option (use "header" and "value")');
  const header = given.header ?? DEFAULT_ANTI_FORGERY_HEADER;
  if (typeof header !== 'string' || !HEADER_NAME.test(header)) fail('antiForgery.header', 'must be a valid HTTP header name');
  const value = given.value ?? DEFAULT_ANTI_FORGERY_VALUE;
  if (typeof value !== 'string' || value === '' || !/^[\x21-\x7e]+$/.test(value)) fail('antiForgery.value', 'must be a non-empty string of visible ASCII characters');
  const name = (header as string).toLowerCase();
  // Headers a browser sets itself, or that a form can set, prove nothing.
  if (['cookie', 'origin', 'referer', 'host', 'content-type', 'authorization'].includes(name)) fail('antiForgery.header', `must not be "${name}": a browser sends it on cross-site requests too`);
  return { header: name, value: value as string, allowedOrigins: origins };
}

function parseOrigins(value: unknown, fail: (option: string, problem: string) => never): ReadonlySet<string> | undefined {
  if (value === undefined) return undefined;
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || list.length === 0) return fail('allowedOrigins', 'must be an origin or a non-empty array of origins, e.g. ["https://app.example.com"]');
  const origins = new Set<string>();
  for (const entry of list) {
    let url: URL | undefined;
    try {
      url = typeof entry === 'string' ? new URL(entry) : undefined;
    } catch {
      url = undefined;
    }
    if (url === undefined || (url.protocol !== 'https:' && url.protocol !== 'http:') || url.origin !== entry.replace(/\/$/, '').toLowerCase()) {
      fail('allowedOrigins', `must hold origins such as "https://app.example.com" (scheme, host and port only): ${JSON.stringify(String(entry)).slice(0, 100)} is not one`);
    }
    origins.add(url!.origin);
  }
  return origins;
}

/** `ERR_ANTIFORGERY` for an HTTP request whose `headers` lack the header set to exactly the value; `undefined` when they have it. */
export function headerRefusal(headers: IncomingHttpHeaders, rule: AntiForgeryRule): AadBackendAuthError | undefined {
  const got = headers[rule.header];
  if (got === rule.value) return undefined;
  return new AadBackendAuthError('ERR_ANTIFORGERY', `The request lacks the anti-forgery header "${rule.header}"`);
}

/** `ERR_ANTIFORGERY` for an upgrade whose `Origin` is missing or not allowed; `undefined` when allowed. */
export function originRefusal(headers: IncomingHttpHeaders, rule: AntiForgeryRule): AadBackendAuthError | undefined {
  const origin = headers.origin;
  if (origin !== undefined && rule.allowedOrigins?.has(origin.toLowerCase()) === true) return undefined;
  return new AadBackendAuthError('ERR_ANTIFORGERY', 'The upgrade does not come from an allowed origin');
}
