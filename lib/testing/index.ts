/**
 * A local Entra ID emulator for tests and demos: token endpoints, discovery, JWKS, user tokens and faults, on loopback.
 *
 * @module aad-backend-auth/testing
 */
export { startEntraEmulator } from './emulator.js';
export { DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_TENANT_ID } from './options.js';
export type {
  EmulatorClient,
  EmulatorResource,
  EntraEmulator,
  EntraEmulatorOptions,
  Fault,
  FaultKind,
  IssuedToken,
  OAuthErrorCode,
  RecordedRequest,
  UserTokenInput,
} from './types.js';
