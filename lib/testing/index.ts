/**
 * A local Entra ID emulator for tests and demos: token endpoints, discovery, JWKS, user tokens and faults, on loopback.
 *
 * @module aad-backend-auth/testing
 */
export { startEntraEmulator } from './emulator.js';
export { msalNetworkClient } from './msal.js';
export type { MsalNetworkClient, MsalNetworkRequestOptions, MsalNetworkResponse } from './msal.js';
export { DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_TENANT_ID } from './options.js';
export type {
  EmulatorClient,
  EmulatorResource,
  EmulatorUser,
  EntraEmulator,
  EntraEmulatorOptions,
  Fault,
  FaultKind,
  IssuedToken,
  OAuthErrorCode,
  RecordedRequest,
  RefreshTokenStats,
  UserTokenInput,
} from './types.js';
