import { appTokenClaims, audienceOf, type ClientAuthClass, type Issuers } from './claims.js';
import { entraErrors, type AadstsError } from './errors.js';
import type { ResolvedOptions } from './options.js';
import type { TokenSigner } from './tokens.js';
import type { IssuedToken } from './types.js';

const DEFAULT_SUFFIX = '/.default';

export interface AppTokenRequest {
  readonly form: Record<string, string>;
  /** The endpoint asked: v2 takes `scope`, v1 `resource`. The token's version comes from the API. */
  readonly endpoint: 'v1' | 'v2';
  readonly tenantId: string;
  readonly tenantName: string;
  readonly clientId: string;
  readonly clientAuth: ClientAuthClass;
  readonly signer: TokenSigner;
  readonly options: ResolvedOptions;
  readonly issuers: Issuers;
}

/** The resource a client-credentials request names: one `<resource>/.default` (v2) or `resource` (v1). */
function requestedResource(form: Record<string, string>, endpoint: 'v1' | 'v2'): string | AadstsError {
  if (endpoint === 'v1') return form['resource'] || entraErrors.missingParameter('resource');
  const scope = form['scope'];
  if (!scope) return entraErrors.missingParameter('scope');
  const scopes = [...new Set(scope.trim().split(/\s+/))];
  if (scopes.some((s) => !s.endsWith(DEFAULT_SUFFIX) || s.length === DEFAULT_SUFFIX.length)) return entraErrors.invalidScope(scope);
  if (scopes.length !== 1) return entraErrors.tooManyResources(scope);
  return scopes[0]!.slice(0, -DEFAULT_SUFFIX.length);
}

/** The client-credentials grant, after client authentication: an app token shaped by the API's version. */
export async function appToken(request: AppTokenRequest): Promise<{ error: AadstsError } | { record: IssuedToken; answer: Record<string, unknown> }> {
  const { form, endpoint, tenantId, clientId, options } = request;
  const requested = requestedResource(form, endpoint);
  if (typeof requested !== 'string') return { error: requested };
  const api = options.apis.find(requested);
  if (api === undefined) return { error: entraErrors.resourceNotFound(requested, request.tenantName) };
  const roles = [...(api.appRoles[clientId] ?? [])];

  const lifetime = options.tokenLifetimeSeconds;
  const issuedAt = Date.now();
  const expiresAt = issuedAt + lifetime * 1000;
  const base = {
    api,
    requested,
    tenantId,
    clientId,
    clientAuth: request.clientAuth,
    iat: Math.floor(issuedAt / 1000),
    exp: Math.floor(expiresAt / 1000),
    issuers: request.issuers,
  };
  const token = await request.signer.signClaims(appTokenClaims(base, roles));
  const record: IssuedToken = { token, clientId, tenantId, audience: audienceOf(base), version: api.version, roles, issuedAt, expiresAt };
  if (endpoint === 'v2') record.scope = form['scope'] ?? '';
  else record.resource = requested;
  if (form['claims'] !== undefined) record.claims = form['claims'];

  if (endpoint === 'v1') {
    return {
      record,
      answer: {
        token_type: 'Bearer',
        expires_in: String(lifetime),
        ext_expires_in: String(lifetime),
        expires_on: String(Math.floor(expiresAt / 1000)),
        not_before: String(Math.floor(issuedAt / 1000)),
        resource: requested,
        access_token: token,
      },
    };
  }
  const answer: Record<string, unknown> = { token_type: 'Bearer', expires_in: lifetime, ext_expires_in: lifetime };
  if (options.refreshInSeconds !== undefined) answer['refresh_in'] = options.refreshInSeconds;
  answer['access_token'] = token;
  return { record, answer };
}
