import type { IncomingMessage, ServerResponse } from 'node:http';
import { invalidOption } from '../errors.js';
import { gatewayOf } from '../gateway.js';
import { parseMiddlewareOptions } from '../options/middleware-options.js';
import { AadTokenProvider } from '../token-provider.js';
import type { AadBackendAuthMiddleware, AadBackendAuthOptions, TokenProvider } from '../types.js';

/** The default of the middleware's `purgeCooldownMs`, for clients built on a bare provider. */
const DEFAULT_PURGE_COOLDOWN_MS = 30_000;

/**
 * Where a client gets its tokens: `aadBackendAuth` options (a new provider), a
 * `TokenProvider` from `createTokenProvider`, or a middleware (its provider is shared).
 */
export type AuthSource<Req extends IncomingMessage = IncomingMessage> =
  | AadBackendAuthOptions<Req>
  | TokenProvider<Req>
  | AadBackendAuthMiddleware<Req, ServerResponse>;

/** What a client needs from its source. */
export interface ClientBinding {
  readonly provider: AadTokenProvider;
  /** Lower-case header that carries the token (the middleware's `header`). */
  readonly header: string;
  /** The same cooldown as the middleware's `purgeOnStatus` evictions. */
  readonly purgeCooldownMs: number;
  /** Whether the client made the provider (from options), and so may close it. */
  readonly owned: boolean;
}

const SOURCE_PROBLEM = 'must be aadBackendAuth options, a TokenProvider from createTokenProvider, or a middleware from aadBackendAuth';

export function resolveAuthSource(source: unknown): ClientBinding {
  if (typeof source === 'function') {
    const gateway = gatewayOf(source);
    if (gateway === undefined) throw invalidOption('source', SOURCE_PROBLEM);
    return { provider: gateway.provider, header: gateway.header, purgeCooldownMs: gateway.settings.purgeCooldownMs, owned: false };
  }
  if (source instanceof AadTokenProvider) return { provider: source, header: 'authorization', purgeCooldownMs: DEFAULT_PURGE_COOLDOWN_MS, owned: false };
  if (typeof source === 'object' && source !== null && typeof (source as { getToken?: unknown }).getToken === 'function') {
    // Single flight after a 401 needs the provider's own purge; another object cannot promise it.
    throw invalidOption('source', `${SOURCE_PROBLEM} (another TokenProvider implementation cannot be used)`);
  }
  // The middleware's options: its provider options plus `header` and `purgeCooldownMs`; the rest is for proxying.
  const settings = parseMiddlewareOptions(source);
  return { provider: new AadTokenProvider(settings.provider), header: settings.middleware.header, purgeCooldownMs: settings.middleware.purgeCooldownMs, owned: true };
}
