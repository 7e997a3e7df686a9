import type { IncomingMessage } from 'node:http';
import { parseProviderOptions } from '../options/provider-options.js';
import { AadTokenProvider } from '../provider/token-provider.js';
import type { TokenProvider } from '../core/types.js';
import type { TokenProviderOptions } from '../options/types.js';

/**
 * The token machinery without Express, for code that calls backends itself.
 * @example
 * const provider = createTokenProvider({ tenantId, clientId, clientSecret, resource: 'api://orders' });
 * const { token } = await provider.getToken();
 */
export function createTokenProvider<Req extends IncomingMessage = IncomingMessage>(options: TokenProviderOptions<Req>): TokenProvider<Req> {
  return new AadTokenProvider(parseProviderOptions(options)) as TokenProvider<Req>;
}
