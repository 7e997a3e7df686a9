import type { IncomingMessage } from 'node:http';
import type { ProviderToken } from '../provider/provider-token.js';
import type { TargetState } from '../provider/target-state.js';
import type { TokenTarget } from '../grants/token-source.js';
import type { AadTokenProvider } from '../provider/token-provider.js';
import { invalidOption } from '../core/errors.js';
import type { AccessToken, ReadyOptions, TokenProvider, TokenProviderEvents, TokenProviderHealth, TokenProviderStats } from '../core/types.js';
import { userTokenInvalid, userTokenMissing } from '../core/user-errors.js';
import type { UserTokenValidator } from '../subjects/user-token/user-token-validator.js';

/**
 * What `createAuthFetch` needs of an on-behalf-of provider: the provider behind it and each
 * request's user's slot in it, so a client uses the same validation, cache and single flight.
 */
export interface UserSlots {
  /** The on-behalf-of provider itself, as the middleware exposes it. */
  readonly tokenProvider: TokenProvider;
  readonly provider: AadTokenProvider;
  /** The header the middleware sets (its `header` option). */
  readonly header: string;
  /**
   * The slot of the request's user. Synchronous when the user token was validated before (the
   * hot path); otherwise it validates it. Throws or rejects with `ERR_USER_TOKEN_MISSING`,
   * `ERR_USER_TOKEN_INVALID` or `ERR_IDP_UNAVAILABLE` (keys unreachable).
   */
  slotFor(req: IncomingMessage): TargetState | Promise<TargetState>;
  /** `token` unless the user token it was exchanged for has expired since: then `ERR_USER_TOKEN_INVALID`. */
  usable(token: ProviderToken): ProviderToken;
}

const userSlots = new WeakMap<object, UserSlots>();

/** An exchanged token is never used past the user token it came from, which may have expired while the exchange ran. */
function unexpired(token: ProviderToken): ProviderToken {
  if (Date.now() >= token.useUntilTimestamp) throw userTokenInvalid('expired');
  return token;
}

/** The per-user slots of an on-behalf-of provider, or of the middleware it belongs to; `undefined` for anything else. */
export function userSlotsOf(source: unknown): UserSlots | undefined {
  if (source === null || (typeof source !== 'object' && typeof source !== 'function')) return undefined;
  const provider = typeof source === 'function' ? (source as { tokenProvider?: unknown }).tokenProvider : source;
  return typeof provider === 'object' && provider !== null ? userSlots.get(provider) : undefined;
}

/**
 * The `tokenProvider` of an `aadOnBehalfOf` middleware: `getToken(req)` resolves the
 * exchanged token of that request's user, validating the user token first when the
 * middleware has not already done so for this request.
 */
export class OnBehalfOfTokenProvider implements TokenProvider {
  readonly #provider: AadTokenProvider;
  readonly #validator: UserTokenValidator<TokenTarget>;
  readonly #readUserToken: (req: IncomingMessage) => string | undefined;
  /** The validated user of each request the middleware has seen: after it ran, the header holds the exchanged token. */
  readonly #users = new WeakMap<IncomingMessage, TokenTarget>();

  constructor(
    provider: AadTokenProvider,
    validator: UserTokenValidator<TokenTarget>,
    readUserToken: (req: IncomingMessage) => string | undefined,
    header = 'authorization',
  ) {
    this.#provider = provider;
    this.#validator = validator;
    this.#readUserToken = readUserToken;
    userSlots.set(this, {
      tokenProvider: this,
      provider,
      header,
      slotFor: (req) => this.#slotFor(req),
      usable: unexpired,
    });
  }

  /** Called by the middleware once a request's user token is valid. */
  remember(req: IncomingMessage, target: TokenTarget): void {
    this.#users.set(req, target);
  }

  async getToken(req?: IncomingMessage): Promise<AccessToken> {
    if (req === undefined) throw userTokenMissing('getToken() of an on-behalf-of provider needs the request');
    const slot = await this.#slotFor(req);
    return this.#provider.cachedToken(slot) ?? unexpired(await this.#provider.acquireToken(slot));
  }

  peek(req?: IncomingMessage): AccessToken | undefined {
    if (req === undefined) return undefined;
    let target = this.#users.get(req);
    if (target === undefined) {
      let userToken: string | undefined;
      try {
        userToken = this.#readUserToken(req);
      } catch {
        return undefined;
      }
      target = userToken === undefined ? undefined : this.#validator.cached(userToken)?.value;
    }
    if (target === undefined) return undefined;
    const entry = this.#provider.stateForTarget(target).token;
    return entry !== undefined && Date.now() < entry.useUntilTimestamp ? entry : undefined;
  }

  invalidate(token?: string | AccessToken): void {
    this.#provider.invalidate(token);
  }

  /** Resolves once the request's user has a usable exchanged token; needs `req` (a user's request). */
  async ready(options: ReadyOptions<IncomingMessage> = {}): Promise<void> {
    if (options.req === undefined) throw invalidOption('req', 'is required by ready() of aadOnBehalfOf: pass a signed-in user\'s request', 'aadOnBehalfOf');
    await this.getToken(options.req);
  }

  health(): TokenProviderHealth {
    return this.#provider.health();
  }

  stats(): TokenProviderStats {
    return this.#provider.stats();
  }

  on<E extends keyof TokenProviderEvents>(event: E, listener: (...args: TokenProviderEvents[E]) => void): this {
    this.#provider.on(event, listener);
    return this;
  }

  off<E extends keyof TokenProviderEvents>(event: E, listener: (...args: TokenProviderEvents[E]) => void): this {
    this.#provider.off(event, listener);
    return this;
  }

  async close(): Promise<void> {
    this.#validator.clear();
    await this.#provider.close();
  }

  /** Synchronous when the request's user is known (the middleware saw it, or its token was validated before). */
  #slotFor(req: IncomingMessage): TargetState | Promise<TargetState> {
    const known = this.#users.get(req);
    if (known !== undefined) {
      // After the middleware ran, the request's header holds the exchanged token, not the user's: only `known` names the user.
      if (Date.now() >= known.notAfter!) throw userTokenInvalid('expired');
      return this.#provider.stateForTarget(known);
    }
    const userToken = this.#readUserToken(req);
    if (userToken === undefined) throw userTokenMissing('the request carries no user token');
    const validated = this.#validator.cached(userToken);
    if (validated !== undefined) return this.#provider.stateForTarget(validated.value);
    return this.#validator.validate(userToken).then((user) => this.#provider.stateForTarget(user.value));
  }
}
