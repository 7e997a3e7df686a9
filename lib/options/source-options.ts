import { invalidOption } from '../core/errors.js';
import { MemoryTokenCache } from '../provider/memory-cache.js';
import { hasMethods } from '../core/option-checks.js';
import { createClientSecretSource } from '../grants/client-secret.js';
import { parseClientCredentialOptions, refuseWithCredential } from './client-credential-options.js';
import { createCredentialSource } from '../grants/credential.js';
import type { TokenSource } from '../grants/token-source.js';
import type { TokenCredential } from '../core/types.js';
import { endpointProblem } from '../core/validation.js';
import { entraTokenUrl, isEntraV1TokenUrl } from '../grants/entra-endpoints.js';
import { check, nonEmptyString } from './checks.js';

export const DEFAULT_AUTHORITY_HOST = 'https://login.microsoftonline.com';

export type EndpointKind = 'entra-v2' | 'entra-v1' | 'generic';

/** A store shared beyond this process (Redis): anything that is not an in-process `MemoryTokenCache`. */
export function isSharedStore(cache: unknown): boolean {
  return cache !== undefined && !(cache instanceof MemoryTokenCache);
}

function credentialSource(o: Record<string, unknown>): TokenSource {
  check('credential', hasMethods(o.credential, ['getToken']) ? undefined : 'must be a TokenCredential (an object with getToken)');
  for (const conflicting of ['clientSecret', 'authorityHost', 'tokenUrl']) {
    check(conflicting, o[conflicting] === undefined ? undefined : 'cannot be combined with "credential": configure the credential itself');
  }
  refuseWithCredential(o);
  const clientId = o.clientId === undefined ? undefined : nonEmptyString('clientId', o.clientId);
  // In this process two credential objects are two identities, whatever they claim. Across a fleet
  // only the client id and the tenant can name one, so both must be given.
  if (clientId === undefined || !isSharedStore(o.cache)) return createCredentialSource(o.credential as TokenCredential, undefined);
  check('tenantId', o.tenantId === undefined ? 'is required with "credential", "clientId" and a shared "cache": the shared key must name the whole identity' : undefined);
  return createCredentialSource(o.credential as TokenCredential, clientId);
}

/** Picks where tokens come from: a credential, or the client-credentials grant against a token endpoint. */
export function selectSource(o: Record<string, unknown>): { source: TokenSource; endpoint: EndpointKind } {
  if (o.credential !== undefined) return { source: credentialSource(o), endpoint: 'entra-v2' };
  const clientId = nonEmptyString('clientId', o.clientId);
  if (o.tokenUrl !== undefined) {
    check('tokenUrl', endpointProblem(o.tokenUrl));
    check('authorityHost', o.authorityHost === undefined ? undefined : 'cannot be combined with "tokenUrl", which already names the endpoint');
    check('tenantId', typeof o.tenantId === 'function' ? 'cannot be a function with "tokenUrl", which already names the tenant' : undefined);
    const tokenUrl = o.tokenUrl as string;
    const v1 = isEntraV1TokenUrl(tokenUrl);
    const auth = parseClientCredentialOptions(o, clientId, { v1 });
    const source = createClientSecretSource({ ...auth, id: `${tokenUrl}|${clientId}${auth.idSuffix}`, v1, tokenEndpoint: () => tokenUrl });
    return { source, endpoint: v1 ? 'entra-v1' : 'generic' };
  }
  if (o.tenantId === undefined) throw invalidOption('tenantId', 'is required (or set "tokenUrl" or "credential")');
  const authorityHost = o.authorityHost ?? DEFAULT_AUTHORITY_HOST;
  check('authorityHost', endpointProblem(authorityHost));
  const authority = (authorityHost as string).replace(/\/+$/, '');
  const auth = parseClientCredentialOptions(o, clientId, { v1: false });
  const source = createClientSecretSource({
    ...auth,
    id: `${authority}|${clientId}${auth.idSuffix}`,
    v1: false,
    tokenEndpoint: (tenantId) => entraTokenUrl(authority, tenantId),
  });
  return { source, endpoint: 'entra-v2' };
}
