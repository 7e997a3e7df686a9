/**
 * Microsoft Entra ID app and on-behalf-of tokens for Express BFFs: the proxy middleware, the token provider,
 * the fetch and axios clients, the WebSocket upgrade wrapper and the in-process token cache.
 *
 * @module aad-backend-auth
 */
export { aadBackendAuth } from './middleware.js';
export { createTokenProvider } from './create-token-provider.js';
export { aadOnBehalfOf } from './obo/middleware.js';
export type { AadOnBehalfOfMiddleware, AadOnBehalfOfOptions } from './obo/types.js';
export { withBackendToken } from './upgrade.js';
export type { BackendTokenUpgradeHandler, UpgradeHandler } from './upgrade.js';
export { createAuthFetch } from './clients/auth-fetch.js';
export type { AuthFetch, AuthFetchOptions, FetchFunction } from './clients/auth-fetch.js';
export { useAadBackendAuth } from './clients/axios-interceptor.js';
export type { AadAxiosOptions } from './clients/axios-interceptor.js';
export type { AuthSource } from './clients/resolve-source.js';
export type { RequestSummary } from './clients/redact-axios-error.js';
export { MemoryTokenCache } from './memory-cache.js';
export type { MemoryTokenCacheOptions } from './memory-cache.js';
export { AadBackendAuthError } from './errors.js';
export type { AadBackendAuthErrorCode, AadBackendAuthErrorInit, OAuthErrorDetails } from './errors.js';
export { MAX_TOKEN_LIFETIME_SECONDS } from './token-response.js';
export type { ClientAssertionAlgorithm, ClientCertificate } from './sources/client-assertion.js';
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
} from './types.js';
