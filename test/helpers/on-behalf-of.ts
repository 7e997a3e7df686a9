import { generateKeyPair, SignJWT } from 'jose';
import { aadOnBehalfOf, type AadOnBehalfOfMiddleware, type AadOnBehalfOfOptions } from '../../lib/index.js';
import { DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_TENANT_ID, type EntraEmulator } from '../../lib/testing/index.js';
import { startStackWith, type StackOf, type StackVersions } from './setup.js';

export const ORDERS_SCOPE = 'api://orders/Orders.Read';

/** `aadOnBehalfOf` options for the emulator's default app registration. */
export function oboOptions(idp: EntraEmulator, extra: Partial<AadOnBehalfOfOptions> = {}): AadOnBehalfOfOptions {
  return {
    tenantId: DEFAULT_TENANT_ID,
    clientId: DEFAULT_CLIENT_ID,
    clientSecret: DEFAULT_CLIENT_SECRET,
    authorityHost: idp.url,
    scope: ORDERS_SCOPE,
    ...extra,
  };
}

export type OboStack = StackOf<AadOnBehalfOfMiddleware>;

/** Emulated IdP, a real backend, and Express + aadOnBehalfOf + http-proxy-middleware on `/api`. */
export function startOboStack(options: StackVersions & { auth?: (idp: EntraEmulator) => Partial<AadOnBehalfOfOptions> } = {}): Promise<OboStack> {
  return startStackWith((idp) => aadOnBehalfOf(oboOptions(idp, options.auth?.(idp))), options);
}

/** The JSON payload of a JWT, unverified (for assertions about what the backend got). */
export function claimsOf(token: string | undefined): Record<string, unknown> {
  const payload = token?.split('.')[1];
  return payload === undefined ? {} : (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>);
}

/** Signs tokens with the right claims and the emulator's `kid`, but with another key: forgeries. One key pair per forger. */
export async function createForger(idp: EntraEmulator): Promise<(claims?: Record<string, unknown>) => Promise<string>> {
  const jwks = (await (await fetch(idp.jwksUri)).json()) as { keys: { kid: string }[] };
  const kid = jwks.keys[0]!.kid;
  const { privateKey } = await generateKeyPair('RS256');
  return (claims = {}) => {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ aud: `api://${DEFAULT_CLIENT_ID}`, iss: idp.issuer(), oid: 'forged', scp: 'access_as_user', exp: now + 3600, nbf: now, iat: now, ...claims })
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid })
      .sign(privateKey);
  };
}

/** An unsigned token (`alg: none`) with valid-looking claims. */
export function unsignedUserToken(idp: EntraEmulator): string {
  const now = Math.floor(Date.now() / 1000);
  const part = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'none', typ: 'JWT' })}.${part({ aud: `api://${DEFAULT_CLIENT_ID}`, iss: idp.issuer(), exp: now + 3600, oid: 'none' })}.`;
}

/** Requests the emulator served from its JWKS endpoint. */
export function jwksReads(idp: EntraEmulator): number {
  return idp.requests.filter((r) => r.path.endsWith('/keys')).length;
}
