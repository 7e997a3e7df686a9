import type { IncomingMessage } from 'node:http';
import type { TokenTarget } from '../sources/token-source.js';
import type { AadTokenProvider } from '../token-provider.js';
import { invalidOption } from '../errors.js';
import type { AccessToken, ReadyOptions, TokenProvider, TokenProviderEvents, TokenProviderHealth, TokenProviderStats } from '../types.js';
import { userTokenInvalid, userTokenMissing } from './user-errors.js';
import type { UserTokenValidator } from './user-token-validator.js';

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

  constructor(provider: AadTokenProvider, validator: UserTokenValidator<TokenTarget>, readUserToken: (req: IncomingMessage) => string | undefined) {
    this.#provider = provider;
    this.#validator = validator;
    this.#readUserToken = readUserToken;
  }

  /** Called by the middleware once a request's user token is valid. */
  remember(req: IncomingMessage, target: TokenTarget): void {
    this.#users.set(req, target);
  }

  async getToken(req?: IncomingMessage): Promise<AccessToken> {
    const target = await this.#targetOf(req);
    const slot = this.#provider.stateForTarget(target);
    const token = this.#provider.cachedToken(slot) ?? (await this.#provider.acquireToken(slot));
    if (Date.now() >= token.useUntilTimestamp) throw userTokenInvalid('expired');
    return token;
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

  async #targetOf(req: IncomingMessage | undefined): Promise<TokenTarget> {
    if (req === undefined) throw userTokenMissing('getToken() of an on-behalf-of provider needs the request');
    const known = this.#users.get(req);
    if (known !== undefined && Date.now() < known.notAfter!) return known;
    const userToken = this.#readUserToken(req);
    if (userToken === undefined) throw userTokenMissing('the request carries no user token');
    return (await this.#validator.validate(userToken)).value;
  }
}
