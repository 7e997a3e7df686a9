import type { TokenRequester } from './client-authentication.js';
import type { TokenRequestClaims } from './token-request-claims.js';
import type { FetchedToken, TokenSource, TokenTarget } from './token-source.js';

export interface ClientSecretSourceOptions {
  /** The token endpoint for a tenant (fixed when `tokenUrl` was given). */
  readonly tokenEndpoint: (tenantId: string | undefined) => string;
  /** Identifies authority, client and token parameters in cache keys. */
  readonly id: string;
  /** Adds the client's authentication (secret, Basic, assertion) and posts the form. */
  readonly requester: TokenRequester;
  /** Extra form fields (`tokenParameters`), already checked against the reserved ones. */
  readonly tokenParameters: readonly (readonly [string, string])[];
  /** Entra v1 endpoints take `resource=` instead of `scope=`. */
  readonly v1: boolean;
}

/**
 * The client-credentials grant: the form for a target, posted with the client's
 * authentication by the requester. The credential lives only in the requester.
 */
export function createClientSecretSource(options: ClientSecretSourceOptions): TokenSource {
  const { requester, tokenEndpoint, tokenParameters, v1 } = options;

  function fetchToken(target: TokenTarget, signal: AbortSignal, claims?: TokenRequestClaims): Promise<FetchedToken> {
    const form = new URLSearchParams({ grant_type: 'client_credentials' });
    if (v1) form.set('resource', target.resource ?? '');
    else form.set('scope', target.scopes.join(' '));
    for (const [name, value] of tokenParameters) form.append(name, value);
    if (claims !== undefined) form.set('claims', claims.claims);
    return requester.postTokenRequest(form, tokenEndpoint(target.tenantId), signal);
  }

  return { id: options.id, grant: 'client_credentials', serverAddress: new URL(tokenEndpoint(undefined)).hostname, fetchToken };
}
