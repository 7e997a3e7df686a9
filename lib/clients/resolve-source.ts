import type { IncomingMessage, ServerResponse } from 'node:http';
import { invalidOption } from '../core/errors.js';
import { gatewayOf } from '../gateway.js';
import { userSlotsOf, type UserSlots } from '../obo/on-behalf-of-provider.js';
import type { AadOnBehalfOfMiddleware } from '../options/on-behalf-of-types.js';
// The middleware's default cooldown also serves clients built on a bare provider and on-behalf-of sources.
import { DEFAULT_PURGE_COOLDOWN_MS, parseMiddlewareOptions } from '../options/middleware-options.js';
import { AadTokenProvider } from '../provider/token-provider.js';
import type { AadBackendAuthMiddleware, AadBackendAuthOptions, TokenProvider } from '../core/types.js';

/**
 * Where a client gets its tokens: `aadBackendAuth` options (a new provider), a
 * `TokenProvider` from `createTokenProvider`, or a middleware (its provider is shared).
 * An `aadOnBehalfOf` middleware or its `tokenProvider` calls the backend as a request's
 * user: only through `createAuthFetch(source).for(req)`.
 */
export type AuthSource<Req extends IncomingMessage = IncomingMessage> =
  | AadBackendAuthOptions<Req>
  | TokenProvider<Req>
  | AadBackendAuthMiddleware<Req, ServerResponse>
  | AadOnBehalfOfMiddleware<Req, ServerResponse>;

/** What a client needs from its source. */
export interface ClientBinding {
  readonly provider: AadTokenProvider;
  /** What the client exposes as `tokenProvider`: the source's own provider. */
  readonly tokenProvider: TokenProvider;
  /** Lower-case header that carries the token (the middleware's `header`). */
  readonly header: string;
  /** The same cooldown as the middleware's `purgeOnStatus` evictions. */
  readonly purgeCooldownMs: number;
  /** Whether the client made the provider (from options), and so may close it. */
  readonly owned: boolean;
  /** Set for an on-behalf-of source: each request's user has a slot of its own, found from the user token. */
  readonly users: UserSlots | undefined;
}

const SOURCE_PROBLEM = 'must be aadBackendAuth options, a TokenProvider from createTokenProvider, or a middleware from aadBackendAuth or aadOnBehalfOf';

export function resolveAuthSource(source: unknown): ClientBinding {
  const users = userSlotsOf(source);
  if (users !== undefined) {
    return { provider: users.provider, tokenProvider: users.tokenProvider, header: users.header, purgeCooldownMs: DEFAULT_PURGE_COOLDOWN_MS, owned: false, users };
  }
  if (typeof source === 'function') {
    const gateway = gatewayOf(source);
    if (gateway === undefined) throw invalidOption('source', SOURCE_PROBLEM);
    const provider = gateway.provider;
    return { provider, tokenProvider: provider, header: gateway.header, purgeCooldownMs: gateway.settings.purgeCooldownMs, owned: false, users: undefined };
  }
  if (source instanceof AadTokenProvider) {
    return { provider: source, tokenProvider: source, header: 'authorization', purgeCooldownMs: DEFAULT_PURGE_COOLDOWN_MS, owned: false, users: undefined };
  }
  if (typeof source === 'object' && source !== null && typeof (source as { getToken?: unknown }).getToken === 'function') {
    // Single flight after a 401 needs the provider's own purge; another object cannot promise it.
    throw invalidOption('source', `${SOURCE_PROBLEM} (another TokenProvider implementation cannot be used)`);
  }
  // The middleware's options: its provider options plus `header` and `purgeCooldownMs`; the rest is for proxying.
  const settings = parseMiddlewareOptions(source);
  const provider = new AadTokenProvider(settings.provider);
  return { provider, tokenProvider: provider, header: settings.middleware.header, purgeCooldownMs: settings.middleware.purgeCooldownMs, owned: true, users: undefined };
}
