import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { SignJWT, exportJWK, generateKeyPair, type JWK } from 'jose';

/** What goes into one access token. */
export interface TokenClaimsInput {
  issuer: string;
  audience: string;
  tenantId: string;
  clientId: string;
  roles: string[];
  /** Epoch milliseconds. */
  issuedAt: number;
  /** Epoch milliseconds. */
  expiresAt: number;
}

/** Signs access tokens with a key pair made for one emulator run. */
export interface TokenSigner {
  /** The JSON Web Key Set that verifies every token. */
  readonly jwks: { keys: JWK[] };
  sign(input: TokenClaimsInput): Promise<string>;
  /** Signs any claims with the same key (user and delegated tokens). */
  signClaims(claims: Record<string, unknown>): Promise<string>;
}

/**
 * A GUID derived from `name` (SHA-1, laid out like an RFC 4122 version 5
 * UUID), so that the same input gives the same id on every run.
 */
export function stableGuid(name: string): string {
  const bytes = createHash('sha1').update(`aad-backend-auth-emulator:${name}`).digest().subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Make an RS256 key pair and a signer that uses it. */
export async function createTokenSigner(): Promise<TokenSigner> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const kid = randomBytes(16).toString('base64url');
  const jwk = { ...(await exportJWK(publicKey)), kid, use: 'sig', alg: 'RS256' };
  return {
    jwks: { keys: [jwk] },
    async sign(input) {
      const iat = Math.floor(input.issuedAt / 1000);
      // The service principal's object id: stable per client and tenant.
      const oid = stableGuid(`sp:${input.tenantId}:${input.clientId}`);
      const claims: Record<string, unknown> = {
        aud: input.audience,
        iss: input.issuer,
        iat,
        nbf: iat,
        exp: Math.floor(input.expiresAt / 1000),
        aio: randomBytes(24).toString('base64url'),
        appid: input.clientId,
        appidacr: '1',
        azp: input.clientId,
        azpacr: '1',
        idp: input.issuer,
        idtyp: 'app',
        oid,
        rh: `0.${randomBytes(12).toString('base64url')}.`,
        sub: oid,
        tid: input.tenantId,
        uti: randomBytes(16).toString('base64url'),
        ver: '2.0',
        jti: randomUUID(),
      };
      if (input.roles.length > 0) claims['roles'] = input.roles;
      return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid }).sign(privateKey);
    },
    signClaims(claims) {
      return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid }).sign(privateKey);
    },
  };
}
