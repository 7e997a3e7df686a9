import type { IncomingMessage } from 'node:http';
import type { Subject } from './subject.js';
import type { ProviderToken } from '../provider/provider-token.js';
import type { TargetState } from '../provider/target-state.js';
import type { TokenTarget } from '../grants/token-source.js';
import type { AadTokenProvider } from '../provider/token-provider.js';
import type { AadBackendAuthLogger } from '../core/types.js';
import { userInteractionRequired, userTokenInvalid, userTokenMissing } from '../core/user-errors.js';
import type { UserTokenValidator } from './user-token/user-token-validator.js';
import type { AadBackendAuthError } from '../core/errors.js';

/**
 * The rule that a token obtained for a user is never used at or after `limit`, the `exp` of the
 * user token it was exchanged for (the provider clamps `useUntilTimestamp` to it, too).
 */
function refuseAfter(limit: number): void {
  if (Date.now() >= limit) throw userTokenInvalid('expired');
}

/**
 * The signed-in user of a bearer request: request → the user's token (the `Authorization: Bearer`
 * header, or `userToken(req)`) → validated locally → that user token's own target in the provider.
 */
export class UserSubject implements Subject {
  readonly perUser = true;
  readonly needsRequest = true;
  readonly #provider: AadTokenProvider;
  readonly #validator: UserTokenValidator<TokenTarget>;
  readonly #readUserToken: (req: IncomingMessage) => string | undefined;
  readonly #logger: AadBackendAuthLogger;
  /** Each request's validated user: once the gateway has run, the request's header holds the delegated token, not the user's. */
  readonly #users = new WeakMap<IncomingMessage, TokenTarget>();

  constructor(
    provider: AadTokenProvider,
    validator: UserTokenValidator<TokenTarget>,
    readUserToken: (req: IncomingMessage) => string | undefined,
    logger: AadBackendAuthLogger,
  ) {
    this.#provider = provider;
    this.#validator = validator;
    this.#readUserToken = readUserToken;
    this.#logger = logger;
  }

  /** What tests and benchmarks may look at: the validator, to count RS256 verifications. */
  get validator(): UserTokenValidator<TokenTarget> {
    return this.#validator;
  }

  /** Synchronous when the user token was validated before (the hot path); otherwise it validates it. */
  pick(req: IncomingMessage | undefined): TargetState | Promise<TargetState> {
    if (req === undefined) throw userTokenMissing('the request is needed to find its user');
    const known = this.#users.get(req);
    if (known !== undefined) {
      refuseAfter(known.notAfter!);
      return this.#provider.stateForTarget(known);
    }
    const userToken = this.#userTokenOf(req);
    if (userToken === undefined) throw userTokenMissing('no Authorization: Bearer header or session token');
    const validated = this.#validator.cached(userToken);
    if (validated !== undefined) return this.#remember(req, validated.value);
    return this.#validator.validate(userToken).then((user) => this.#remember(req, user.value));
  }

  known(req: IncomingMessage | undefined): TargetState | undefined {
    if (req === undefined) return undefined;
    let target = this.#users.get(req);
    if (target === undefined) {
      const userToken = this.#userTokenOf(req);
      target = userToken === undefined ? undefined : this.#validator.cached(userToken)?.value;
    }
    return target === undefined ? undefined : this.#provider.stateForTarget(target);
  }

  usable(token: ProviderToken): ProviderToken {
    refuseAfter(token.useUntilTimestamp);
    return token;
  }

  /**
   * A delegated token's claims challenge cannot be met by the BFF: a new exchange of the same user
   * token would lack the claims too. Only the user can, by signing in again.
   */
  claimsChallenge(claims: string): AadBackendAuthError {
    return userInteractionRequired('the backend answered a claims challenge to the delegated token', claims);
  }

  close(): void {
    this.#validator.clear();
  }

  #remember(req: IncomingMessage, target: TokenTarget): TargetState {
    this.#users.set(req, target);
    return this.#provider.stateForTarget(target);
  }

  #userTokenOf(req: IncomingMessage): string | undefined {
    try {
      return this.#readUserToken(req);
    } catch {
      this.#logger.debug('the "userToken" function threw');
      return undefined;
    }
  }
}
