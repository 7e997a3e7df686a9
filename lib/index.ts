export { aadBackendAuth } from './middleware.js';
export { createTokenProvider } from './create-token-provider.js';
export { aadOnBehalfOf } from './obo/middleware.js';
export type { AadOnBehalfOfMiddleware, AadOnBehalfOfOptions } from './options/on-behalf-of-types.js';
export { withBackendToken } from './upgrade.js';
export type { BackendTokenUpgradeHandler, UpgradeHandler } from './upgrade.js';
export { createAuthFetch } from './adapters/clients/auth-fetch.js';
export type { AuthFetch, AuthFetchOptions, FetchFunction } from './adapters/clients/auth-fetch.js';
export { useAadBackendAuth } from './adapters/clients/axios-interceptor.js';
export type { AadAxiosOptions } from './adapters/clients/axios-interceptor.js';
export type { AuthSource } from './clients/resolve-source.js';
export type { RequestSummary } from './adapters/clients/redact-axios-error.js';
export { MemoryTokenCache } from './provider/memory-cache.js';
export type { MemoryTokenCacheOptions } from './provider/memory-cache.js';
export { AadBackendAuthError } from './core/errors.js';
export type { AadBackendAuthErrorCode, AadBackendAuthErrorInit, OAuthErrorDetails } from './core/errors.js';
export { MAX_TOKEN_LIFETIME_SECONDS } from './grants/token-response.js';
export type { ClientAssertionAlgorithm, ClientCertificate } from './grants/client-assertion.js';
export type {
  AadBackendAuthLogger,
  AadBackendAuthMiddleware,
  AadBackendAuthOptions,
  AccessToken,
  Awaitable,
  ClientCredentialOptions,
  CredentialAccessToken,
  CredentialGetTokenOptions,
  ErrorHandler,
  PerRequest,
  ReadyOptions,
  RefreshEvent,
  StoredToken,
  TokenCache,
  TokenCacheLock,
  TokenCredential,
  TokenEvent,
  TokenProvider,
  TokenProviderEvents,
  TokenProviderHealth,
  TokenProviderOptions,
  TokenProviderStats,
} from './core/types.js';
