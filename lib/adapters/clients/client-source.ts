import type { IncomingMessage, ServerResponse } from 'node:http';
import { invalidOption } from '../../core/errors.js';
import { TokenGateway } from '../../gateway/token-gateway.js';
import { UserTokenProvider } from '../../gateway/user-token-provider.js';
import { createDefaultLogger } from '../../core/logger.js';
import type { AadOnBehalfOfMiddleware } from '../../options/on-behalf-of-types.js';
import type { AadUserTokenMiddleware } from '../../options/user-token-types.js';
import { gatewayRules } from '../../options/gateway-rules.js';
// The middleware's default cooldown also serves clients built on a bare provider.
import { DEFAULT_PURGE_COOLDOWN_MS } from '../../options/middleware-options.js';
import { PROVIDER_DEFAULTS } from '../../options/provider-options.js';
import { AppSubject } from '../../subjects/app-subject.js';
import { AadTokenProvider } from '../../provider/token-provider.js';
import type { AadBackendAuthMiddleware, TokenProvider } from '../../core/types.js';
import type { AadBackendAuthOptions } from '../../options/types.js';
import { appGateway } from '../backend-auth.js';
import { gatewayOf } from '../http-middleware.js';

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
  | AadOnBehalfOfMiddleware<Req, ServerResponse>
  | AadUserTokenMiddleware<Req, ServerResponse>;

/** What a client works through: the source's gateway, and the provider it exposes. */
export interface ClientSource {
  readonly gateway: TokenGateway;
  /** What the client exposes as `tokenProvider`: the source's own provider. */
  readonly tokenProvider: TokenProvider;
  /** Whether the client made the provider (from options), and so may close it. */
  readonly owned: boolean;
}

const SOURCE_PROBLEM = 'must be aadBackendAuth options, a TokenProvider from createTokenProvider, or a middleware from aadBackendAuth or aadOnBehalfOf';

/** The gateway of a bare provider: the app's, with the default header and eviction cooldown. */
function providerGateway(provider: AadTokenProvider): TokenGateway {
  const rules = gatewayRules({ header: 'authorization', removeHeaders: [], purgeCooldownMs: DEFAULT_PURGE_COOLDOWN_MS }, { ...PROVIDER_DEFAULTS, logger: createDefaultLogger() });
  return new TokenGateway(provider, new AppSubject(provider), rules);
}

export function resolveClientSource(source: unknown): ClientSource {
  const gateway = gatewayOf(source);
  if (gateway !== undefined) return { gateway, tokenProvider: (source as { tokenProvider: TokenProvider }).tokenProvider, owned: false };
  if (typeof source === 'function') throw invalidOption('source', SOURCE_PROBLEM);
  if (source instanceof UserTokenProvider) return { gateway: source.gateway, tokenProvider: source, owned: false };
  if (source instanceof AadTokenProvider) return { gateway: providerGateway(source), tokenProvider: source, owned: false };
  if (typeof source === 'object' && source !== null && typeof (source as { getToken?: unknown }).getToken === 'function') {
    // Single flight after a 401 needs the provider's own eviction; another object cannot promise it.
    throw invalidOption('source', `${SOURCE_PROBLEM} (another TokenProvider implementation cannot be used)`);
  }
  // The middleware's options: its provider options plus `header` and `purgeCooldownMs`; the rest is for proxying.
  const made = appGateway(source);
  return { gateway: made.gateway, tokenProvider: made.provider, owned: true };
}
