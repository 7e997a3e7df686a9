// The metadata documents Entra serves, pointing at the emulator.

/** The authorities that are not one tenant: their documents name the issuer with a `{tenantid}` placeholder. */
export const MULTI_TENANT_AUTHORITIES: ReadonlySet<string> = new Set(['common', 'organizations']);

export interface DiscoveryInput {
  /** The emulator's base URL. */
  readonly url: string;
  /** The path segment the document is for: a tenant id, or `common`/`organizations`. */
  readonly segment: string;
  /** The issuer, `{tenantid}` placeholder included for multi-tenant authorities. */
  readonly issuer: string;
  /** Where the keys are. */
  readonly jwksUri: string;
  readonly multiTenant: boolean;
}

const ENTRA_HOSTS = {
  cloud_instance_name: 'microsoftonline.com',
  cloud_graph_host_name: 'graph.windows.net',
  msgraph_host: 'graph.microsoft.com',
  rbac_url: 'https://pas.windows.net',
};

/** `/{tenant}/v2.0/.well-known/openid-configuration`. */
export function openidConfigurationV2({ url, segment, issuer, jwksUri, multiTenant }: DiscoveryInput): Record<string, unknown> {
  const base = `${url}/${segment}`;
  return {
    token_endpoint: `${base}/oauth2/v2.0/token`,
    token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
    jwks_uri: jwksUri,
    response_modes_supported: ['query', 'fragment', 'form_post'],
    subject_types_supported: ['pairwise'],
    id_token_signing_alg_values_supported: ['RS256'],
    response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
    scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
    issuer,
    request_uri_parameter_supported: false,
    userinfo_endpoint: `${url}/oidc/userinfo`,
    authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
    device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
    http_logout_supported: true,
    frontchannel_logout_supported: true,
    end_session_endpoint: `${base}/oauth2/v2.0/logout`,
    claims_supported: ['sub', 'iss', 'cloud_instance_name', 'cloud_instance_host_name', 'cloud_graph_host_name', 'msgraph_host', 'aud', 'exp', 'iat', 'auth_time', 'acr', 'nonce', 'preferred_username', 'name', 'tid', 'ver', 'at_hash', 'c_hash', 'email'],
    kerberos_endpoint: `${base}/kerberos`,
    code_challenge_methods_supported: ['plain', 'S256'],
    tenant_region_scope: multiTenant ? null : 'EU',
    ...ENTRA_HOSTS,
  };
}

/** `/{tenant}/.well-known/openid-configuration`: the v1 document (v1 issuer, `/oauth2/token`, `/discovery/keys`). */
export function openidConfigurationV1({ url, segment, issuer, jwksUri, multiTenant }: DiscoveryInput): Record<string, unknown> {
  const base = `${url}/${segment}`;
  return {
    token_endpoint: `${base}/oauth2/token`,
    token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
    jwks_uri: jwksUri,
    response_modes_supported: ['query', 'fragment', 'form_post'],
    subject_types_supported: ['pairwise'],
    id_token_signing_alg_values_supported: ['RS256'],
    response_types_supported: ['code', 'id_token', 'code id_token', 'token id_token', 'token'],
    scopes_supported: ['openid'],
    issuer,
    microsoft_multi_refresh_token: true,
    authorization_endpoint: `${base}/oauth2/authorize`,
    device_authorization_endpoint: `${base}/oauth2/devicecode`,
    http_logout_supported: true,
    frontchannel_logout_supported: true,
    end_session_endpoint: `${base}/oauth2/logout`,
    claims_supported: ['sub', 'iss', 'cloud_instance_name', 'cloud_instance_host_name', 'cloud_graph_host_name', 'msgraph_host', 'aud', 'exp', 'iat', 'auth_time', 'acr', 'amr', 'nonce', 'email', 'given_name', 'family_name', 'nickname'],
    check_session_iframe: `${base}/oauth2/checksession`,
    userinfo_endpoint: `${base}/openid/userinfo`,
    kerberos_endpoint: `${base}/kerberos`,
    tenant_region_scope: multiTenant ? null : 'EU',
    ...ENTRA_HOSTS,
  };
}

/** `/common/discovery/instance`: the aliases MSAL looks up unless told the authority is known. */
export function instanceDiscovery(url: string, tenant: string): Record<string, unknown> {
  const host = new URL(url).host;
  return {
    tenant_discovery_endpoint: `${url}/${tenant}/v2.0/.well-known/openid-configuration`,
    'api-version': '1.1',
    metadata: [{ preferred_network: host, preferred_cache: host, aliases: [host] }],
  };
}
