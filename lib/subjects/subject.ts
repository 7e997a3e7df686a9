import type { IncomingMessage } from 'node:http';
import type { AadBackendAuthError } from '../core/errors.js';
import type { ProviderToken } from '../provider/provider-token.js';
import type { TargetState } from '../provider/target-state.js';

/**
 * Whose token a request carries: the app's own, or a user's. A subject picks the request's
 * target in its provider; the gateway does the rest of the flow, the same for every subject.
 */
export interface Subject {
  /**
   * Whether each request's user has targets of its own (a user token, a session). Such a
   * subject needs the request for every token, and its `tokenProvider` answers per request.
   */
  readonly perUser: boolean;
  /** Whether a token can only be picked with a request: per-user subjects, and per-request app targets. */
  readonly needsRequest: boolean;
  /**
   * The request's target. It may read the client's own credentials (a user token), so the
   * gateway calls it before it strips them. Synchronous on the hot path; a promise when there is
   * work to do first (validating a new user token). Throws or rejects with an `AadBackendAuthError`.
   */
  pick(req: IncomingMessage | undefined): TargetState | Promise<TargetState>;
  /** The request's target when it is known without I/O, for `peek`; `undefined` otherwise. */
  known(req: IncomingMessage | undefined): TargetState | undefined;
  /**
   * `token`, when the request may still send it. A freshly obtained token may already be past a
   * limit the subject sets (a delegated token never outlives its user token): then it throws.
   */
  usable(token: ProviderToken): ProviderToken;
  /**
   * What a backend's claims challenge (CAE) to this subject's token means: `undefined` when a new
   * token can carry the claims, or the error to answer with when only the user can meet them.
   */
  claimsChallenge(claims: string): AadBackendAuthError | undefined;
  /**
   * Optional: the token for a picked target, obtained by the subject itself instead of the
   * provider's cached token or flight. For subjects whose token work has effects on the request:
   * a cookie session refreshes only on a live request, because only that request can write its
   * session (`set`) before anyone uses the new token. What it returns is delivered as it is
   * (`usable` is not called). Throws or rejects with an `AadBackendAuthError`.
   */
  obtain?(req: IncomingMessage | undefined, state: TargetState): ProviderToken | Promise<ProviderToken>;
  /** Drops what the subject holds (validated user tokens, say); the provider is closed apart. */
  close(): void;
}
