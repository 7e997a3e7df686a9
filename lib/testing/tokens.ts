import { createHash, generateKeyPair } from 'node:crypto';
import { promisify } from 'node:util';
import { SignJWT, exportJWK, type JWK } from 'jose';
import { selfSignedRsaCertificate } from './x509.js';

/** Signs every token of one emulator run with one RSA key, named as Entra names its keys. */
export interface TokenSigner {
  /** The key as Entra's JWKS lists it: `kty`, `use`, `kid`, `x5t`, `n`, `e`, `x5c` (no `alg`). */
  readonly jwk: JWK & { x5t: string; x5c: string[] };
  /** The JSON Web Key Set that verifies every token; `issuer` adds Entra's per-key `issuer` member. */
  jwks(issuer?: string): { keys: JWK[] };
  /** Signs `claims` with the header Entra uses: `typ`, `alg`, `x5t` and `kid` (both the certificate thumbprint). */
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

/** Make an RS256 key pair with a self-signed certificate, and a signer that uses it. */
export async function createTokenSigner(): Promise<TokenSigner> {
  const { privateKey, publicKey } = await promisify(generateKeyPair)('rsa', { modulusLength: 2048 });
  const certificate = selfSignedRsaCertificate(publicKey, privateKey, 'aad-backend-auth emulator token signing');
  // Entra's kid and x5t are the same value: the certificate's base64url SHA-1 thumbprint.
  const x5t = createHash('sha1').update(certificate).digest('base64url');
  const { n, e } = await exportJWK(publicKey);
  const jwk = { kty: 'RSA', use: 'sig', kid: x5t, x5t, n: n!, e: e!, x5c: [certificate.toString('base64')] };
  return {
    jwk,
    jwks: (issuer) => ({ keys: [issuer === undefined ? { ...jwk } : { ...jwk, issuer }] }),
    signClaims(claims) {
      return new SignJWT(claims).setProtectedHeader({ typ: 'JWT', alg: 'RS256', x5t, kid: x5t }).sign(privateKey);
    },
  };
}
