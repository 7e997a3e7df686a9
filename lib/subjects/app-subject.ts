import type { IncomingMessage } from 'node:http';
import type { Subject } from './subject.js';
import type { ProviderToken } from '../provider/provider-token.js';
import type { TargetState } from '../provider/target-state.js';
import type { AadTokenProvider } from '../provider/token-provider.js';

/** The app itself: a request's target comes from the options (fixed, or per request). */
export class AppSubject implements Subject {
  readonly perUser = false;
  readonly #provider: AadTokenProvider;

  constructor(provider: AadTokenProvider) {
    this.#provider = provider;
  }

  get needsRequest(): boolean {
    return this.#provider.perRequestTargets;
  }

  /** Throws `ERR_INVALID_TARGET` when per-request options give a bad value. */
  pick(req: IncomingMessage | undefined): TargetState {
    return this.#provider.stateFor(req);
  }

  known(req: IncomingMessage | undefined): TargetState | undefined {
    try {
      return this.#provider.stateFor(req);
    } catch {
      return undefined;
    }
  }

  usable(token: ProviderToken): ProviderToken {
    return token;
  }

  /** An app token can carry the claims: the next token request asks for them. */
  claimsChallenge(): undefined {
    return undefined;
  }

  close(): void {}
}
