/** Where Entra ID serves a tenant: the one place that spells its URL layout. */

/** The v2 token endpoint of `tenantId` under `authority` (no trailing slash). */
export function entraTokenUrl(authority: string, tenantId: string | undefined): string {
  return `${authority}/${encodeURIComponent(tenantId ?? '')}/oauth2/v2.0/token`;
}

/** The v2 OpenID configuration document of `tenantId`, which names its issuer and keys. */
export function entraDiscoveryUrl(authority: string, tenantId: string): string {
  return `${authority}/${encodeURIComponent(tenantId)}/v2.0/.well-known/openid-configuration`;
}

/** Entra v1 token endpoints (`/oauth2/token`) take `resource=` instead of `scope=`. */
export function isEntraV1TokenUrl(tokenUrl: string): boolean {
  return new URL(tokenUrl).pathname.replace(/\/+$/, '').endsWith('/oauth2/token');
}
