import type { IncomingMessage } from 'node:http';
import type { AadBackendAuthLogger, TokenCache } from '../core/types.js';
import type { TokenSource, TokenTarget } from '../grants/token-source.js';

/** Picks the target of a request; throws `ERR_INVALID_TARGET` (400) for a bad per-request value. */
export type TargetSelector = TokenTarget | ((req: IncomingMessage) => TokenTarget);

/** What a provider is built from: the parsed options of whichever entry point made it. */
export interface ProviderSettings {
  readonly source: TokenSource;
  readonly target: TargetSelector;
  readonly refreshWindowMs: number;
  readonly timeoutMs: number;
  readonly failureCooldownMs: number;
  readonly maxKeys: number;
  readonly maxConcurrentTokenRequests: number;
  readonly cache: TokenCache;
  readonly logger: AadBackendAuthLogger;
  /** CAE capabilities such as `cp1`, sent as `claims` with every token request. */
  readonly clientCapabilities: readonly string[] | undefined;
}
