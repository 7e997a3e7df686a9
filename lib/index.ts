export { aadBackendAuth } from './middleware.js';
export { aadOnBehalfOf } from './obo/middleware.js';
export type { AadOnBehalfOfMiddleware, AadOnBehalfOfOptions } from './obo/types.js';
export { createTokenProvider } from './token-provider.js';
export { withBackendToken } from './upgrade.js';
export type { BackendTokenUpgradeHandler, UpgradeHandler } from './upgrade.js';
export { MemoryTokenCache } from './memory-cache.js';
export { AadBackendAuthError } from './errors.js';
export type { AadBackendAuthErrorCode, OAuthErrorDetails } from './errors.js';
export { MAX_TOKEN_LIFETIME_SECONDS } from './token-response.js';
export type {
  AadBackendAuthLogger,
  AadBackendAuthMiddleware,
  AadBackendAuthOptions,
  AccessToken,
  Awaitable,
  ErrorHandler,
  PerRequest,
  RefreshEvent,
  StoredToken,
  TokenCache,
  TokenCacheLock,
  TokenEvent,
  TokenProvider,
  TokenProviderEvents,
  TokenProviderOptions,
  TokenProviderStats,
} from './types.js';
