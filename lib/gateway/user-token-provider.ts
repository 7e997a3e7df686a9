import type { IncomingMessage } from 'node:http';
import { invalidOption } from '../core/errors.js';
import { userTokenMissing } from '../core/user-errors.js';
import { usableToken } from '../provider/target-state.js';
import type { AccessToken, ReadyOptions, TokenProvider, TokenProviderEvents, TokenProviderHealth, TokenProviderStats } from '../core/types.js';
import type { TokenGateway } from './token-gateway.js';

/**
 * The `tokenProvider` of a per-user entry point (`aadOnBehalfOf`): `getToken(req)` runs the
 * gateway's flow for that request's user, so it shares the middleware's validation, cache and
 * single flight. Everything else is the provider's.
 */
export class UserTokenProvider implements TokenProvider {
  /** The gateway this provider answers for; clients given this provider use it. */
  readonly gateway: TokenGateway;
  readonly #entryPoint: string;

  constructor(gateway: TokenGateway, entryPoint: string) {
    this.gateway = gateway;
    this.#entryPoint = entryPoint;
  }

  async getToken(req?: IncomingMessage): Promise<AccessToken> {
    if (req === undefined) throw userTokenMissing(`getToken() of ${this.#entryPoint}'s provider needs the request`);
    return (await this.gateway.issue(req)).token;
  }

  peek(req?: IncomingMessage): AccessToken | undefined {
    const state = this.gateway.subject.known(req);
    return state === undefined ? undefined : usableToken(state, Date.now());
  }

  invalidate(token?: string | AccessToken): void {
    this.gateway.provider.invalidate(token);
  }

  /** Resolves once the request's user has a usable token; needs `req` (a signed-in user's request). */
  async ready(options: ReadyOptions<IncomingMessage> = {}): Promise<void> {
    if (options.req === undefined) throw invalidOption('req', `is required by ready() of ${this.#entryPoint}: pass a signed-in user's request`, this.#entryPoint);
    await this.getToken(options.req);
  }

  health(): TokenProviderHealth {
    return this.gateway.provider.health();
  }

  stats(): TokenProviderStats {
    return this.gateway.provider.stats();
  }

  on<E extends keyof TokenProviderEvents>(event: E, listener: (...args: TokenProviderEvents[E]) => void): this {
    this.gateway.provider.on(event, listener);
    return this;
  }

  off<E extends keyof TokenProviderEvents>(event: E, listener: (...args: TokenProviderEvents[E]) => void): this {
    this.gateway.provider.off(event, listener);
    return this;
  }

  async close(): Promise<void> {
    this.gateway.subject.close();
    await this.gateway.provider.close();
  }
}
