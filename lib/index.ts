/**
 * Microsoft Entra ID app and on-behalf-of tokens for Express BFFs: the proxy middleware, the token provider,
 * the fetch and axios clients, the WebSocket upgrade wrapper and the in-process token cache.
 *
 * @module aad-backend-auth
 */
export { aadBackendAuth } from './adapters/backend-auth.js';
export { createTokenProvider } from './adapters/create-token-provider.js';
export { aadOnBehalfOf } from './adapters/on-behalf-of.js';
export type { AadOnBehalfOfMiddleware, AadOnBehalfOfOptions } from './options/on-behalf-of-types.js';
export { aadUserToken } from './adapters/user-token.js';
export type { AadUserTokenMiddleware, AadUserTokenOptions } from './options/user-token-types.js';
export type { UserTokens, UserTokenSession } from './subjects/session/types.js';
export type { AntiForgeryOption } from './http/anti-forgery.js';
export { withBackendToken } from './adapters/upgrade.js';
export type { BackendTokenUpgradeHandler, UpgradeHandler } from './adapters/upgrade.js';
export { createAuthFetch } from './adapters/clients/auth-fetch.js';
export type { AuthFetch, AuthFetchOptions, FetchFunction } from './adapters/clients/auth-fetch.js';
export { useAadBackendAuth } from './adapters/clients/axios-interceptor.js';
export type { AadAxiosOptions } from './adapters/clients/axios-interceptor.js';
export type { AuthSource } from './adapters/clients/client-source.js';
export type { RequestSummary } from './adapters/clients/redact-axios-error.js';
export { MemoryTokenCache } from './provider/memory-cache.js';
export type { MemoryTokenCacheOptions } from './provider/memory-cache.js';
export { AadBackendAuthError } from './core/errors.js';
export type { AadBackendAuthErrorCode, AadBackendAuthErrorInit, OAuthErrorDetails } from './core/errors.js';
export { MAX_TOKEN_LIFETIME_SECONDS } from './grants/token-response.js';
export type { ClientAssertionAlgorithm, ClientCertificate } from './grants/client-assertion.js';
export type { AadBackendAuthOptions, ClientCredentialOptions, ErrorHandler, TokenProviderOptions } from './options/types.js';
export type {
  AadBackendAuthLogger,
  AadBackendAuthMiddleware,
  AccessToken,
  Awaitable,
  CredentialAccessToken,
  CredentialGetTokenOptions,
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
  TokenProviderStats,
} from './core/types.js';
